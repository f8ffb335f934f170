"""A client-side rate budget, so that a healthy sync never receives a 429.

Cursor limits each team per endpoint group with fixed one-minute windows. Every task in the
process that talks to Cursor with the same key draws from one :class:`RateBudget` bucket per
group; the bucket keeps a log of send times and allows at most ``limit`` sends in any sliding
window of ``minute_seconds * safety`` seconds. A sliding window slightly longer than a minute
never puts more than ``limit`` requests into any of Cursor's fixed windows, whatever the
offset between our clock and theirs, as long as request latency varies by less than the
margin.

Buckets are keyed by the SHA-256 of the key (never the key itself): two linked accounts that
share a key are the same team at Cursor, so they share a budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

# Requests per minute per team (Cursor docs, mid-2026). Undocumented limits are guesses on
# the low side: an unneeded wait costs less than a 429 that blocks a bucket for a minute.
GROUP_LIMITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "admin": 20,
        "usage_events": 60,
        "user_spend_limit": 250,
        "user_spend_limits": 20,
        "remove_member": 50,
        "analytics_team": 100,
        "analytics_insights": 20,
        "analytics_by_user": 50,
        "ai_code": 20,
        "cloud_agents": 60,
        # Documented as 1 per user per minute (and 30 per hour).
        "cloud_agents_repositories": 1,
    }
)

DEFAULT_GROUP: Final = "admin"

# Endpoints with their own limit, by method and normalised path.
_EXACT: Final[Mapping[tuple[str, str], str]] = MappingProxyType(
    {
        ("POST", "/teams/filtered-usage-events"): "usage_events",
        ("POST", "/organizations/filtered-usage-events"): "usage_events",
        ("POST", "/teams/user-spend-limit"): "user_spend_limit",
        ("POST", "/teams/user-spend-limits"): "user_spend_limits",
        ("POST", "/teams/remove-member"): "remove_member",
        ("GET", "/analytics/team/conversation-insights"): "analytics_insights",
        ("GET", "/v0/repositories"): "cloud_agents_repositories",
        ("GET", "/v1/repositories"): "cloud_agents_repositories",
    }
)

_PREFIXES: Final = (
    ("/analytics/team/", "analytics_team"),
    ("/analytics/by-user/", "analytics_by_user"),
    ("/analytics/ai-code/", "ai_code"),
    ("/v0/", "cloud_agents"),
    ("/v1/", "cloud_agents"),
)


def endpoint_group(method: str, path: str) -> str:
    """The rate-limit group of a request; paths without a documented limit count as admin."""
    normalised = _normalise(path)
    exact = _EXACT.get((method.upper(), normalised))
    if exact is not None:
        return exact
    for prefix, group in _PREFIXES:
        if normalised.startswith(prefix):
            return group
    return DEFAULT_GROUP


# Groups whose limit holds per endpoint rather than for the whole family: each endpoint of
# theirs draws from a bucket of its own (``endpoint_bucket``) with the family's number.
PER_ENDPOINT_GROUPS: Final = frozenset({"ai_code"})
_COMMIT_DETAIL: Final = "/analytics/ai-code/commits/"


def endpoint_bucket(method: str, path: str) -> str:
    """The budget bucket of a request: its group, or ``group:endpoint`` for a group limited
    per endpoint (AI Code Tracking: 20/min for each of commits, changes, their CSVs…)."""
    group = endpoint_group(method, path)
    if group not in PER_ENDPOINT_GROUPS:
        return group
    normalised = _normalise(path)
    if normalised.startswith(_COMMIT_DETAIL):
        normalised = _COMMIT_DETAIL + "{hash}"  # one endpoint, whichever commits it names
    return f"{group}:{normalised}"


def _normalise(path: str) -> str:
    # Accept a full URL or a path with a query string; only the path decides the group.
    return "/" + urlsplit(path).path.strip("/")


def key_id(api_key: str) -> str:
    """The identity of a key for bucketing and logs: its SHA-256, hex."""
    return hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(slots=True)
class _Bucket:
    # Send times (ours, monotonic), ascending; future entries are slots already handed out.
    sends: deque[float] = field(default_factory=deque)
    blocked_until: float = -math.inf


class RateBudget:
    """Per (key, endpoint group) send budget, shared by every task and event loop.

    State sits behind a ``threading.Lock`` and waiting is ``asyncio.sleep`` on whichever loop
    is running, so one instance serves many loops (tests make a loop per test) and threads.
    ``clock`` and ``sleep`` are seams for tests.
    """

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        safety: float = 1.05,
        limits: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if minute_seconds <= 0 or safety < 1:
            raise ValueError("minute_seconds must be positive and safety at least 1")
        self.minute_seconds = minute_seconds
        self.window = minute_seconds * safety
        self._limits = dict(GROUP_LIMITS if limits is None else limits)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def limit(self, group: str) -> int:
        """The limit of a group, or of a per-endpoint bucket's group (``ai_code:/…``)."""
        family = group.partition(":")[0]
        default = self._limits.get(DEFAULT_GROUP, GROUP_LIMITS[DEFAULT_GROUP])
        return self._limits.get(group, self._limits.get(family, default))

    async def acquire(self, key_id: str, group: str) -> float:
        """Wait until a request may be sent; returns the seconds waited."""
        waited = 0.0
        while True:
            at, delay = self._reserve(key_id, group)
            if delay > 0:
                try:
                    await self._sleep(delay)
                except BaseException:
                    # A cancelled waiter never sends: its slot goes back to the others.
                    self._release(key_id, group, at)
                    raise
                waited += delay
            if self.blocked_for(key_id, group) <= 0:
                return waited
            # A 429 that another task received while this one slept holds it back too.
            self._release(key_id, group, at)

    async def pause(self, seconds: float) -> None:
        """Sleep before a retry, on the budget's clock (one notion of time for the tests)."""
        await self._sleep(seconds)

    def reserve(self, key_id: str, group: str) -> float:
        """Claim the earliest free send slot; returns the seconds from now until it."""
        return self._reserve(key_id, group)[1]

    def _reserve(self, key_id: str, group: str) -> tuple[float, float]:
        limit = self.limit(group)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault((key_id, group), _Bucket())
            sends = bucket.sends
            while sends and sends[0] <= now - self.window:
                sends.popleft()
            # Slots are handed out in order, so checking the window that ends at the new
            # slot is enough: no later send exists whose window it could overfill.
            at = max(now, bucket.blocked_until, sends[-1] if sends else now)
            if len(sends) >= limit:
                at = max(at, sends[-limit] + self.window)
            sends.append(at)
        return at, at - now

    def _release(self, key_id: str, group: str, at: float) -> None:
        with self._lock, suppress(ValueError):  # ValueError: already trimmed as too old
            self._buckets[(key_id, group)].sends.remove(at)

    def penalize(self, key_id: str, group: str, retry_after_seconds: float) -> None:
        """After a 429, hold every sender of this bucket back for ``retry_after_seconds``."""
        until = self._clock() + max(0.0, retry_after_seconds)
        with self._lock:
            bucket = self._buckets.setdefault((key_id, group), _Bucket())
            bucket.blocked_until = max(bucket.blocked_until, until)

    def blocked_for(self, key_id: str, group: str) -> float:
        """Seconds left of a penalty on this bucket (0 when none)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((key_id, group))
            until = bucket.blocked_until if bucket is not None else -math.inf
        return max(0.0, until - now)


_defaults: dict[float, RateBudget] = {}
_defaults_lock = threading.Lock()


def default_budget(minute_seconds: float = 60.0) -> RateBudget:
    """The process-wide budget for a given minute length (one per value)."""
    with _defaults_lock:
        budget = _defaults.get(minute_seconds)
        if budget is None:
            budget = _defaults[minute_seconds] = RateBudget(minute_seconds=minute_seconds)
        return budget
