"""Our own rate limits, per API token and per integrated account.

Sliding windows in process memory: one noisy caller cannot starve the others or burn a
customer's Cursor budget. With several API processes each enforces its own share.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    per_seconds: float


class RateLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def check(self, bucket: str, limit: Limit | None) -> None:
        """Count a request, or raise a 429 saying when to come back."""
        if limit is None:
            return
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(bucket, deque())
            while hits and hits[0] <= now - limit.per_seconds:
                hits.popleft()
            if len(hits) >= limit.requests:
                wait = max(1, math.ceil(hits[0] + limit.per_seconds - now))
                raise ApiError(
                    429,
                    f"rate limit exceeded: at most {limit.requests} requests per "
                    f"{limit.per_seconds:g} s; retry after {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            hits.append(now)
