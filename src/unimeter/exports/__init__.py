"""Streaming exports of stored records (JSON Lines and CSV)."""
