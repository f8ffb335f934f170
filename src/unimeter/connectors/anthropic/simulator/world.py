"""A simulated Anthropic Admin API: one organization per admin key, plus the limits,
faults, key revocations and request counters shared by all."""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING

from .clock import SimClock
from .config import AnthropicSimConfig
from .faults import FaultInjector
from .ids import api_key_for, day_of, random_base58
from .limits import RateLimiter
from .org import SimOrg

if TYPE_CHECKING:
    from .truth import OrgTruth


class SimulatedAnthropic:
    def __init__(self, config: AnthropicSimConfig | None = None) -> None:
        self.config = config or AnthropicSimConfig()
        self.config.validate()
        self.clock = SimClock(self.config.now_ms)
        self.limiter = RateLimiter(
            per_minute=self.config.rate_limit_per_minute,
            minute_seconds=self.config.minute_seconds,
        )
        self.faults = FaultInjector(
            seed=self.config.seed, rate=self.config.fault_rate, forced=self.config.force_fault
        )
        self._orgs = {
            key: SimOrg(key, i, self.config, self.clock) for i, key in enumerate(self.config.keys)
        }
        # A normal API key of the first organization: it authenticates, but admin paths
        # refuse it (``config.non_admin_status``).
        self.non_admin_key = api_key_for(self.config.seed, "non-admin")
        self._lock = threading.Lock()
        self._revoked: set[str] = set()
        self._requests: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._request_ids = 0

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._orgs)

    def org(self, key: str | None = None) -> SimOrg:
        """An organization by its admin key (the first by default), revoked or not."""
        return self._orgs[key or self.keys[0]]

    def active_org(self, key: str) -> SimOrg | None:
        return None if key in self._revoked else self._orgs.get(key)

    def knows(self, key: str) -> bool:
        return key in self._orgs or key == self.non_admin_key

    def is_revoked(self, key: str) -> bool:
        return key in self._revoked

    def revoke(self, key: str) -> None:
        """From now on this key answers 401, as if an admin deleted it in the Console."""
        with self._lock:
            self._revoked.add(key)

    def restore(self, key: str) -> None:
        with self._lock:
            self._revoked.discard(key)

    def revise(self) -> None:
        """Revise the costs of every organization's last ``revision_days`` complete days."""
        now = self.clock.now_ms()
        for org in self._orgs.values():
            org.revise(now)

    def requests(self, key: str) -> int:
        """Requests that reached the API with this key (refused ones included)."""
        with self._lock:
            return self._requests[key]

    def rate_limited(self, key: str) -> int:
        """429s answered to this key."""
        with self._lock:
            return self._rate_limited[key]

    def count_request(self, key: str, *, limited: bool = False) -> None:
        with self._lock:
            if limited:
                self._rate_limited[key] += 1
            else:
                self._requests[key] += 1

    def next_request_id(self) -> str:
        with self._lock:
            self._request_ids += 1
            n = self._request_ids
        return "req_011C" + random_base58(20, self.config.seed, "request", n)

    def truth(self, key: str | None = None) -> OrgTruth:
        """Ground truth of an organization (the first one by default), as of now."""
        from .truth import OrgTruth

        return OrgTruth(self, self.org(key))

    def plant_spike(self, key: str, email: str, day_ms: int, *, factor: int = 20) -> None:
        """Multiply one user's usage on the UTC day holding ``day_ms`` by ``factor``."""
        org = self.org(key)
        user = next(u for u in org.roster.users if u.email == email)
        org.plant_spike(user.index, day_of(day_ms), factor)
