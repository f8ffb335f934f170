"""Deterministic fault injection: the n-th request of a team fails the same way every run.

Two modes: a ``rate`` of random faults (reproducible from the seed), or one fault ``forced``
on every request (a revoked key, a plan without the endpoint, a limit that never resets, an
outage), so a test or a demo can show how unimeter behaves when Cursor never recovers.
"""

from __future__ import annotations

import threading
from enum import StrEnum

from .rng import mix64, stable_int, unit_interval


class Fault(StrEnum):
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    DROPPED_CONNECTION = "drop"
    SLOW = "slow"
    TRUNCATED_BODY = "truncate"
    # Only ever forced, never drawn at random: each is an answer that retrying cannot fix.
    UNAUTHORIZED = "401"  # the key was revoked after it was linked
    FORBIDDEN = "403"  # the team's plan does not include the endpoint
    NOT_FOUND = "404"
    RATE_LIMITED = "429"  # every request is over the limit
    NOT_JSON = "html"  # a 200 with an HTML page (a proxy's or captive portal's)


# Drawn at random with ``rate``; a fixed tuple so the sequence of a seed never changes.
_RANDOM_KINDS = (
    Fault.SERVER_ERROR,
    Fault.BAD_GATEWAY,
    Fault.UNAVAILABLE,
    Fault.DROPPED_CONNECTION,
    Fault.SLOW,
    Fault.TRUNCATED_BODY,
)


class FaultInjector:
    def __init__(self, *, seed: int, rate: float, forced: Fault | None = None) -> None:
        self.seed = seed
        self.rate = rate
        # Answer every request with this fault (set at start-up or by a test at any time).
        self.forced = forced
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self.injected: dict[Fault, int] = dict.fromkeys(Fault, 0)

    def next_fault(self, team_key: str) -> Fault | None:
        forced = self.forced
        if forced is not None:
            with self._lock:
                self.injected[forced] += 1
            return forced
        if self.rate <= 0:
            return None
        with self._lock:
            n = self._counters.get(team_key, 0)
            self._counters[team_key] = n + 1
        roll = mix64(stable_int(self.seed, team_key, n))
        if unit_interval(roll) >= self.rate:
            return None
        fault = _RANDOM_KINDS[mix64(roll) % len(_RANDOM_KINDS)]
        with self._lock:
            self.injected[fault] += 1
        return fault
