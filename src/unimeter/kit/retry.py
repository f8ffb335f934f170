"""Retrying an HTTP call: capped exponential backoff with full jitter, or the server's own
``retry-after``. Which statuses a vendor retries is the vendor's call (its connector)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_NUMBER = re.compile(r"\d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, or the server's own ``retry-after``.

    ``max_attempts`` counts every attempt, the first included.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Vendors ask for up to a minute or so; a retry-after far beyond that is more likely a
    # misbehaving proxy than a reason to stall a sync.
    max_retry_after: float = 120.0
    jitter: bool = True
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def on_minute(self, minute_seconds: float) -> RetryPolicy:
        """The policy for a vendor whose minute lasts ``minute_seconds`` (a simulated vendor's
        compressed one), so retries span the same vendor time. A server's own retry-after
        is on its clock already and is not scaled."""
        factor = minute_seconds / 60.0
        if factor == 1.0:
            return self
        return replace(self, base_delay=self.base_delay * factor, max_delay=self.max_delay * factor)

    def backoff(self, attempt: int) -> float:
        """The delay after failed attempt number ``attempt`` (1-based), without a hint."""
        exponent = min(max(attempt - 1, 0), 62)
        capped = min(self.max_delay, self.base_delay * 2.0**exponent)
        # Full jitter spreads the retries of the many tasks that failed together.
        return capped * self.rng() if self.jitter else capped

    def delay_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt ``attempt``, honouring ``retry-after``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(attempt)


# Someone is waiting on the answer (a key's validation at a prompt or on the Connect page): a
# few quick retries, never a long retry-after.
WHILE_WAITING = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=1.0, max_retry_after=5.0)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms`` first (the finer), then
    ``retry-after`` (delta-seconds or an HTTP date). None when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None and _NUMBER.fullmatch(millis.strip()):
        return float(millis.strip()) / 1000.0
    return parse_retry_after(headers.get("retry-after"), now)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``retry-after`` header; a date in the past gives 0."""
    if value is None:
        return None
    text = value.strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; a zone-less parse means the same
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=UTC)
    return max(0.0, (when - reference).total_seconds())
