"""Per-day money sums per member and per (member, billing group).

Spend and billing-group totals are sums of the very ``chargedCents`` values the usage-events
endpoint serves (after adjustments and rounding), so the reconciliation invariants hold by
construction rather than by coincidence.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .activity import MAX_ARRIVAL_LAG_MS
from .catalog import KIND_USAGE_BASED
from .config import DAY_MS
from .roster import UNASSIGNED
from .team import SimTeam

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class DayLedger:
    day: int
    charged: I64  # per member: every charged micro-cent that day
    usage_charged: I64  # per member: on-demand (usage-based) part
    usage_count: I64  # per member: usage-based events
    events: I64  # per member: visible events
    by_group: (
        I64  # (members, groups + 1): charged per member while in each group; column 0 = Unassigned
    )


class Ledger:
    def __init__(self, team: SimTeam) -> None:
        self.team = team
        self._cache: OrderedDict[tuple[int, int, int | None], DayLedger] = OrderedDict()

    def day(self, day: int, now_ms: int) -> DayLedger:
        window = self.team.adjuster.window_ms
        settled = (day + 1) * DAY_MS + max(MAX_ARRIVAL_LAG_MS, window) <= now_ms
        key = (self.team.data_version, day, None if settled else now_ms)
        found = self._cache.get(key)
        if found is None:
            found = self._compute(day, now_ms)
            self._cache[key] = found
            if len(self._cache) > 400:
                self._cache.popitem(last=False)
        return found

    def _compute(self, day: int, now_ms: int) -> DayLedger:
        team = self.team
        n = len(team.members)
        groups = len(team.roster.groups)
        events = team.day(day).events
        idx = np.flatnonzero(events.visible_at <= now_ms).astype(np.int64)
        users = events.user[idx].astype(np.int64)
        charged = team.adjuster.price(events, idx, now_ms).charged_micro
        usage = events.kind[idx] == KIND_USAGE_BASED
        event_group = self._event_groups(day, users, events.ts[idx])
        by_group = _sum_by(users * (groups + 1) + event_group + 1, charged, n * (groups + 1))
        return DayLedger(
            day=day,
            charged=_sum_by(users, charged, n),
            usage_charged=_sum_by(users, charged * usage, n),
            usage_count=np.bincount(users[usage], minlength=n).astype(np.int64),
            events=np.bincount(users, minlength=n).astype(np.int64),
            by_group=by_group.reshape(n, groups + 1),
        )

    def _event_groups(self, day: int, users: I64, ts: I64) -> I64:
        members = self.team.members
        start, end = day * DAY_MS, (day + 1) * DAY_MS - 1
        at_start = np.array([m.group_at(start) for m in members], dtype=np.int64)
        out = at_start[users]
        # Members whose group changes during the day are resolved event by event.
        for m in members:
            if any(
                start < s.start_ms <= end or (s.end_ms is not None and start < s.end_ms <= end)
                for s in m.stints
            ):
                for i in np.flatnonzero(users == m.index):
                    out[i] = m.group_at(int(ts[i]))
        return out

    def sum_days(self, days: list[int], now_ms: int) -> DayLedger | None:
        parts = [self.day(d, now_ms) for d in days]
        if not parts:
            return None
        return DayLedger(
            day=days[0],
            charged=np.sum([p.charged for p in parts], axis=0),
            usage_charged=np.sum([p.usage_charged for p in parts], axis=0),
            usage_count=np.sum([p.usage_count for p in parts], axis=0),
            events=np.sum([p.events for p in parts], axis=0),
            by_group=np.sum([p.by_group for p in parts], axis=0),
        )


def _sum_by(keys: I64, values: I64, size: int) -> I64:
    # float64 sums of integers stay exact far beyond any plausible spend (2**53 micro-cents).
    return np.rint(np.bincount(keys, weights=values, minlength=size)).astype(np.int64)


def cycle_days(team: SimTeam, cycle: tuple[int, int], now_ms: int) -> list[int]:
    start = max(cycle[0], team.retention_start_ms(now_ms))
    end = min(cycle[1] - 1, now_ms)
    if start > end:
        return []
    return list(range(start // DAY_MS, end // DAY_MS + 1))


__all__ = ["UNASSIGNED", "DayLedger", "Ledger", "cycle_days"]
