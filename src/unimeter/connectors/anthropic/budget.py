"""A client-side pacer per key that learns the Admin API's rate limit from its 429s.

Anthropic publishes no number for the Admin API (reference §1.7, §10.3). So every client
in the process that uses the same key draws from one :class:`AdaptiveBudget` bucket that
starts at ``start_rate`` requests per minute (50: below the 60 a minute documented for the
newer analytics API) and allows at most the current rate in any sliding window of
``minute_seconds * safety``. On a 429 the bucket holds every sender back for the
``retry-after`` and halves its rate (multiplicative decrease); after a run of successes it
adds one request a minute (additive increase), never above the start rate. A healthy key
thus never hammers the API, and a key that shares its organization's quota with other
tools settles below whatever is left.

Buckets are keyed by the SHA-256 of the key, never the key itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field

START_RATE = 50
MIN_RATE = 2


def key_id(api_key: str) -> str:
    """The identity of a key for bucketing and logs: its SHA-256, hex."""
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(slots=True)
class _Bucket:
    rate: float
    # Send times (ours, monotonic), ascending; future entries are slots already handed out.
    sends: deque[float] = field(default_factory=deque)
    blocked_until: float = -math.inf
    successes: int = 0  # since the last change of rate

    @property
    def limit(self) -> int:
        return max(1, int(self.rate))


class AdaptiveBudget:
    """Per-key send budget shared by every task, event loop and thread of the process.

    ``clock`` and ``sleep`` are seams for tests (a fake clock that moves when slept on).
    """

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        start_rate: int = START_RATE,
        min_rate: int = MIN_RATE,
        safety: float = 1.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if minute_seconds <= 0 or safety < 1 or not 1 <= min_rate <= start_rate:
            raise ValueError("need minute_seconds > 0, safety >= 1, 1 <= min_rate <= start_rate")
        self.minute_seconds = minute_seconds
        self.start_rate = start_rate
        self.min_rate = min_rate
        self.window = minute_seconds * safety
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def rate(self, key: str) -> int:
        """The requests a minute this key may send now."""
        with self._lock:
            return self._bucket(key).limit

    async def acquire(self, key: str) -> float:
        """Wait until a request may be sent; returns the seconds waited."""
        waited = 0.0
        while True:
            at, delay = self._reserve(key)
            if delay > 0:
                try:
                    await self._sleep(delay)
                except BaseException:
                    # A cancelled waiter never sends: its slot goes back to the others.
                    self._release(key, at)
                    raise
                waited += delay
            if self.blocked_for(key) <= 0:
                return waited
            # A 429 another task received while this one slept holds it back too.
            self._release(key, at)

    async def pause(self, seconds: float) -> None:
        """Sleep before a retry, on the budget's clock (one notion of time for the tests)."""
        await self._sleep(seconds)

    def succeeded(self, key: str) -> None:
        """One answer that was not a 429: after a minute's worth, one more a minute."""
        with self._lock:
            bucket = self._bucket(key)
            bucket.successes += 1
            if bucket.successes >= bucket.limit and bucket.rate < self.start_rate:
                bucket.rate = min(float(self.start_rate), bucket.rate + 1)
                bucket.successes = 0

    def rate_limited(self, key: str, retry_after_seconds: float) -> None:
        """A 429: hold every sender of this key back, and halve the rate."""
        now = self._clock()
        with self._lock:
            bucket = self._bucket(key)
            # Several tasks may see 429s of one burst: one halving per penalty period.
            if bucket.blocked_until <= now:
                bucket.rate = max(float(self.min_rate), bucket.rate / 2)
            bucket.blocked_until = max(bucket.blocked_until, now + max(0.0, retry_after_seconds))
            bucket.successes = 0

    def blocked_for(self, key: str) -> float:
        """Seconds left of a penalty on this key (0 when none)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            until = bucket.blocked_until if bucket is not None else -math.inf
        return max(0.0, until - now)

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate=float(self.start_rate))
        return bucket

    def _reserve(self, key: str) -> tuple[float, float]:
        now = self._clock()
        with self._lock:
            bucket = self._bucket(key)
            sends, limit = bucket.sends, bucket.limit
            while sends and sends[0] <= now - self.window:
                sends.popleft()
            # Slots go out in order, so checking the window that ends at the new slot is
            # enough: no later send exists whose window it could overfill.
            at = max(now, bucket.blocked_until, sends[-1] if sends else now)
            if len(sends) >= limit:
                at = max(at, sends[-limit] + self.window)
            sends.append(at)
        return at, at - now

    def _release(self, key: str, at: float) -> None:
        with self._lock, suppress(ValueError):  # already trimmed as too old
            self._buckets[key].sends.remove(at)


_defaults: dict[float, AdaptiveBudget] = {}
_defaults_lock = threading.Lock()


def default_budget(minute_seconds: float = 60.0) -> AdaptiveBudget:
    """The process-wide budget for a given minute length (one per value)."""
    with _defaults_lock:
        budget = _defaults.get(minute_seconds)
        if budget is None:
            budget = _defaults[minute_seconds] = AdaptiveBudget(minute_seconds=minute_seconds)
        return budget
