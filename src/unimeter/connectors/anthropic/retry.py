"""When to try an Anthropic request again (how long to wait: :mod:`unimeter.kit.retry`).

Retried: 429 (rate limited), 529 (overloaded, for everyone), 500, 502, 503, 504, transport
errors and 2xx bodies that are not JSON (a truncated body is a dropped connection by
another name). Any other 4xx fails the same way every time, so a retry would only burn the
rate budget.
"""

from __future__ import annotations

from unimeter.kit.retry import RetryPolicy, parse_retry_after, retry_after

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504, 529})

__all__ = ["RETRIED_STATUSES", "RetryPolicy", "is_retried_status", "parse_retry_after",
           "retry_after"]  # fmt: skip


def is_retried_status(status: int) -> bool:
    return status in RETRIED_STATUSES
