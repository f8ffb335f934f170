"""One simulated Cursor team: roster, lazily generated days, and the changes the API allows."""

from __future__ import annotations

import calendar
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from .activity import Day, Spike, generate_day
from .catalog import ADMIN_ROLES, PAID_ROLES
from .clock import SimClock
from .config import DAY_MS, SimulatorConfig
from .pricing import Adjuster
from .rng import stable_int
from .roster import Member, Roster, build_roster

BOOL = npt.NDArray[np.bool_]

# Upper bound on events held in the day cache; a 10,000-member team stays well under 1 GB.
MAX_CACHED_EVENTS = 4_000_000


@dataclass(frozen=True, slots=True)
class AuditRecord:
    ts_ms: int
    event_type: str
    actor_email: str
    event_data: dict[str, Any]
    ip_address: str | None = None
    key: int = 0


class RemovalRefusedError(Exception):
    """A remove-member request that would break a team invariant."""


@dataclass(slots=True)
class _DayCache:
    days: OrderedDict[int, Day] = field(default_factory=OrderedDict)
    events: int = 0


class SimTeam:
    def __init__(self, key: str, config: SimulatorConfig, clock: SimClock) -> None:
        self.key = key
        self.config = config
        self.clock = clock
        self.salt = stable_int("team", key) & 0x7FFFFFFF
        self.roster: Roster = build_roster(
            config.seed, self.salt, config.users, config.days, clock.start_ms
        )
        self.adjuster = Adjuster(
            enabled=config.quirks.cost_adjustments,
            window_ms=config.adjustment_hours * 3_600_000,
            fractional=config.quirks.fractional_cents,
        )
        self.audit_mutations: list[AuditRecord] = []
        self._cache = _DayCache()
        # Bumped whenever cached days are dropped because the team changed.
        self.data_version = 0
        # Days of injected runaway usage: day → spikes.
        self.spikes: dict[int, tuple[Spike, ...]] = {}
        self._by_email = {m.email: m for m in self.roster.members}
        self._by_user_id = {m.user_id: m for m in self.roster.members}
        self._by_numeric = {m.numeric_id: m for m in self.roster.members}

    # -- time -------------------------------------------------------------------------------

    def now_ms(self) -> int:
        return self.clock.now_ms()

    @property
    def history_start_ms(self) -> int:
        return self.roster.history_start_ms

    @property
    def enterprise_start_ms(self) -> int:
        """Where the Enterprise APIs' data begins (``SimulatorConfig.enterprise_days``)."""
        return self._recent_start(self.config.enterprise_days)

    @property
    def agents_start_ms(self) -> int:
        """Where the cloud agents still listed begin (``SimulatorConfig.agent_days``)."""
        return self._recent_start(self.config.agent_days)

    def _recent_start(self, days: int | None) -> int:
        skipped = 0 if days is None else max(0, self.config.days - days)
        return self.history_start_ms + skipped * DAY_MS

    def retention_start_ms(self, now_ms: int) -> int:
        retained = (now_ms // DAY_MS - self.config.effective_retention_days) * DAY_MS
        return max(retained, self.history_start_ms)

    def cycle_bounds(self, ms: int) -> tuple[int, int]:
        """The billing cycle ``[start, end)`` containing ``ms``."""
        when = datetime.fromtimestamp(ms / 1000, tz=UTC)
        year, month = when.year, when.month
        if when.day < self.roster.cycle_anchor_day:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        start = _month_day_ms(year, month, self.roster.cycle_anchor_day)
        next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
        return start, _month_day_ms(next_year, next_month, self.roster.cycle_anchor_day)

    # -- days -------------------------------------------------------------------------------

    def day(self, day: int) -> Day:
        cache = self._cache
        found = cache.days.get(day)
        if found is not None:
            cache.days.move_to_end(day)
            return found
        made = generate_day(
            self.roster,
            self.config.seed,
            self.salt,
            day,
            self.config.activity_scale,
            late_arrivals=self.config.quirks.late_arrivals,
            spikes=self.spikes.get(day, ()),
        )
        cache.days[day] = made
        cache.events += made.events.size
        while cache.events > MAX_CACHED_EVENTS and len(cache.days) > 1:
            _, dropped = cache.days.popitem(last=False)
            cache.events -= dropped.events.size
        return made

    def inject_spike(self, spike: Spike, day: int) -> None:
        """Make ``day`` a day of runaway usage for a member (see :class:`Spike`)."""
        self.spikes[day] = (*self.spikes.get(day, ()), spike)
        self.invalidate_from(day)

    def invalidate_from(self, day: int) -> None:
        self.data_version += 1
        for cached in [d for d in self._cache.days if d >= day]:
            self._cache.events -= self._cache.days.pop(cached).events.size

    def member_during_day(self, day: int) -> BOOL:
        b = self.roster.behaviour
        start, end = day * DAY_MS, (day + 1) * DAY_MS
        mask: BOOL = (b.joined_ms < end) & (b.removed_ms > start)
        return mask

    # -- members ----------------------------------------------------------------------------

    @property
    def members(self) -> list[Member]:
        return self.roster.members

    def member_by_email(self, email: str) -> Member | None:
        return self._by_email.get(email.strip().lower())

    def member_by_user_id(self, user_id: str) -> Member | None:
        return self._by_user_id.get(user_id)

    def member_by_numeric_id(self, numeric_id: int) -> Member | None:
        return self._by_numeric.get(numeric_id)

    def is_removed(self, member: Member, now_ms: int) -> bool:
        return member.removed_ms is not None and member.removed_ms <= now_ms

    def event_email(self, member: Member, now_ms: int) -> str:
        """The ``userEmail`` Cursor shows on a member's events (empty once removed)."""
        if self.config.quirks.removed_user_email and self.is_removed(member, now_ms):
            return ""
        return member.email

    # -- mutations --------------------------------------------------------------------------

    def set_spend_limit(self, member: Member, dollars: int | None) -> None:
        now = self.now_ms()
        member.spend_limit_dollars = dollars
        member.spend_limit_set_ms = now
        self._audit(now, "user_spend_limit", {"email": member.email, "spendLimitDollars": dollars})

    def remove_member(self, member: Member) -> None:
        now = self.now_ms()
        if self.is_removed(member, now):
            raise RemovalRefusedError("User is not a member of this team")
        remaining = [m for m in self.members if m is not member and not self.is_removed(m, now)]
        if not any(m.role in PAID_ROLES for m in remaining):
            raise RemovalRefusedError("At least one paid member must remain on the team")
        if not any(m.role in ADMIN_ROLES for m in remaining):
            raise RemovalRefusedError("At least one admin must remain on the team")
        member.removed_ms = now
        member.residual_until_ms = None
        for stint in member.stints:
            if stint.end_ms is None or stint.end_ms > now:
                stint.end_ms = now
        self.roster.refresh_membership_arrays()
        self.invalidate_from(now // DAY_MS)
        self._audit(now, "remove_user", {"email": member.email, "method": "api"})

    def bump_costs(self) -> None:
        """Make every event inside the adjustment window change cost on the next read."""
        self.adjuster.bumps_ms.append(self.now_ms())
        self.adjuster.bumps_ms.sort()

    def _audit(self, ts_ms: int, event_type: str, data: dict[str, Any]) -> None:
        owner = self.members[0]
        self.audit_mutations.append(
            AuditRecord(
                ts_ms=ts_ms,
                event_type=event_type,
                actor_email=owner.email,
                event_data=data,
                key=len(self.audit_mutations),
            )
        )


def _month_day_ms(year: int, month: int, day: int) -> int:
    day = min(day, calendar.monthrange(year, month)[1])
    return int(datetime(year, month, day, tzinfo=UTC).timestamp() * 1000)
