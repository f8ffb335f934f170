"""Deterministic fault injection: the n-th request of a team fails the same way every run."""

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


_KINDS = tuple(Fault)


class FaultInjector:
    def __init__(self, *, seed: int, rate: float) -> None:
        self.seed = seed
        self.rate = rate
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self.injected: dict[Fault, int] = dict.fromkeys(Fault, 0)

    def next_fault(self, team_key: str) -> Fault | None:
        if self.rate <= 0:
            return None
        with self._lock:
            n = self._counters.get(team_key, 0)
            self._counters[team_key] = n + 1
        roll = mix64(stable_int(self.seed, team_key, n))
        if unit_interval(roll) >= self.rate:
            return None
        fault = _KINDS[mix64(roll) % len(_KINDS)]
        with self._lock:
            self.injected[fault] += 1
        return fault
