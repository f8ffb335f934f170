"""When and how long to wait before trying a Cursor request again.

Only failures that a later attempt can fix are retried: 429, 5xx, transport errors (connect
and read errors, timeouts, dropped connections) and 2xx bodies that are not valid JSON (a
truncated body is a dropped connection by another name). A 401 or a 400 will fail the same
way every time, so retrying would only burn the rate budget.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

_SECONDS = re.compile(r"\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, and ``Retry-After`` when the server sends one.

    ``max_attempts`` counts every attempt, the first included.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Cursor answers a 429 with Retry-After up to 60 s; anything far beyond that is more
    # likely a misbehaving proxy than a reason to stall a sync.
    max_retry_after: float = 120.0
    jitter: bool = True
    # A seam for tests; full jitter draws uniformly from [0, capped backoff).
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, attempt: int) -> float:
        """The exponential delay after failed attempt number ``attempt`` (1-based)."""
        exponent = min(max(attempt - 1, 0), 62)  # 2**62 already exceeds any sane cap
        capped = min(self.max_delay, self.base_delay * 2.0**exponent)
        # Full jitter spreads the retries of many tasks that failed together.
        return capped * self.rng() if self.jitter else capped

    def delay_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt``, honouring ``Retry-After``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)


def is_retriable_status(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


def is_retriable_exception(exc: BaseException) -> bool:
    # TransportError covers timeouts, connect/read/write errors and RemoteProtocolError.
    return isinstance(exc, httpx.TransportError)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    Returns ``None`` when the header is absent or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT; a zone-less parse means the same
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())
