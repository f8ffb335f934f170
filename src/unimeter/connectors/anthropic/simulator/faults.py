"""Deterministic fault injection: the n-th request of an organization fails the same way
every run. Either a ``rate`` of random faults (reproducible from the seed), or one fault
``forced`` on every request (an outage, a revoked key, a limit that never resets)."""

from __future__ import annotations

import threading
from enum import StrEnum

from .ids import stable_int, unit_interval


class Fault(StrEnum):
    SERVER_ERROR = "500"  # api_error
    OVERLOADED = "529"  # overloaded_error
    BAD_GATEWAY = "502"  # an HTML page from the edge
    # Only ever forced, never drawn at random: answers that retrying cannot fix (or not soon).
    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    RATE_LIMITED = "429"


# Drawn at random with ``rate``; a fixed tuple so the sequence of a seed never changes.
# (A dropped connection cannot be produced in-process, so it is not simulated.)
_RANDOM_KINDS = (Fault.SERVER_ERROR, Fault.OVERLOADED, Fault.BAD_GATEWAY)


class FaultInjector:
    def __init__(self, *, seed: int, rate: float, forced: Fault | None = None) -> None:
        self.seed = seed
        self.rate = rate
        # Answer every request with this fault (set at start-up or by a test at any time).
        self.forced = forced
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self.injected: dict[Fault, int] = dict.fromkeys(Fault, 0)

    def next_fault(self, org_key: str) -> Fault | None:
        forced = self.forced
        if forced is not None:
            with self._lock:
                self.injected[forced] += 1
            return forced
        if self.rate <= 0:
            return None
        with self._lock:
            n = self._counters.get(org_key, 0)
            self._counters[org_key] = n + 1
        roll = stable_int(self.seed, "fault", org_key, n)
        if unit_interval(roll) >= self.rate:
            return None
        fault = _RANDOM_KINDS[stable_int(roll, "kind") % len(_RANDOM_KINDS)]
        with self._lock:
            self.injected[fault] += 1
        return fault
