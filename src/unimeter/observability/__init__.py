"""Metrics (Prometheus) and logs (text or JSON, secrets redacted)."""
