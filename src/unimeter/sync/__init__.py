"""The sync engine: windows, watermarks, idempotent upserts, locks and runs."""
