"""When and how long to wait before trying a Cursor request again.

Only failures that a later attempt can fix are retried: 429, 5xx, transport errors (connect
and read errors, timeouts, dropped connections) and 2xx bodies that are not valid JSON (a
truncated body is a dropped connection by another name). A 401 or a 400 will fail the same
way every time, so retrying would only burn the rate budget.
"""

from __future__ import annotations

import httpx

from unimeter.kit.retry import RetryPolicy, parse_retry_after

__all__ = ["RetryPolicy", "is_retriable_exception", "is_retriable_status", "parse_retry_after"]


def is_retriable_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def is_retriable_exception(exc: BaseException) -> bool:
    # TransportError covers timeouts, connect/read/write errors and RemoteProtocolError.
    return isinstance(exc, httpx.TransportError)
