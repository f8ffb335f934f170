"""Billing groups (``GET /teams/groups`` and ``GET /teams/groups/{id}``).

Usage is attributed to the group a member belonged to when it happened; members in no
group at the time land in the reserved Unassigned group.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from .config import DAY_MS
from .ledger import DayLedger, Ledger, cycle_days
from .pricing import cents
from .roster import UNASSIGNED, Group, GroupStint, Member
from .team import SimTeam

UNASSIGNED_ID = "group_unassigned"


def iso_ms(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{ms % 1000:03d}Z"
    )


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


class GroupsView:
    """Billing groups of one team for one billing cycle, as of ``now``."""

    def __init__(self, team: SimTeam, ledger: Ledger, cycle: tuple[int, int], now_ms: int) -> None:
        self.team = team
        self.cycle = cycle
        self.now_ms = now_ms
        self.as_of = min(cycle[1] - 1, now_ms)
        self.days = cycle_days(team, cycle, now_ms)
        self.per_day: list[DayLedger] = [ledger.day(d, now_ms) for d in self.days]

    def billing_cycle(self) -> dict[str, str]:
        return {"cycleStart": iso_ms(self.cycle[0]), "cycleEnd": iso_ms(self.cycle[1])}

    def list_body(self) -> dict[str, Any]:
        groups = [g for g in self.team.roster.groups if g.created_ms <= self.now_ms]
        return {
            "groups": [self.group_body(g, member_daily=False) for g in groups],
            "unassignedGroup": self.unassigned_body(member_daily=False),
            "billingCycle": self.billing_cycle(),
        }

    def group_body(self, group: Group, *, member_daily: bool) -> dict[str, Any]:
        column = group.index + 1
        current, former = self._stints(group.index)
        changes = [s.start_ms for _, s in current + former] + [
            s.end_ms for _, s in former if s.end_ms is not None
        ]
        updated = max([group.created_ms, *[c for c in changes if c <= self.now_ms]])
        return {
            "id": group.id,
            "name": group.name,
            "type": "BILLING",
            "directoryGroupId": group.directory_group_id,
            "memberCount": len(current),
            "createdAt": iso_ms(group.created_ms),
            "updatedAt": iso_ms(updated),
            "spendCents": cents(self._column_total(column)),
            "currentMembers": [self._member(m, s, column, member_daily) for m, s in current],
            "formerMembers": [self._member(m, s, column, member_daily) for m, s in former],
            "dailySpend": self._daily(column, None),
        }

    def unassigned_body(self, *, member_daily: bool) -> dict[str, Any]:
        created = self.team.roster.created_ms
        current = [
            m
            for m in self.team.members
            if m.is_member_at(self.as_of) and m.group_at(self.as_of) == UNASSIGNED
        ]
        return {
            "id": UNASSIGNED_ID,
            "name": "Unassigned",
            "type": "BILLING",
            "directoryGroupId": None,
            "memberCount": len(current),
            "createdAt": iso_ms(created),
            "updatedAt": iso_ms(created),
            "spendCents": cents(self._column_total(0)),
            "currentMembers": [
                self._member(
                    m, GroupStint(UNASSIGNED, max(m.joined_ms, created), None), 0, member_daily
                )
                for m in current
            ],
            "formerMembers": [],
            "dailySpend": self._daily(0, None),
        }

    def _stints(
        self, group: int
    ) -> tuple[list[tuple[Member, GroupStint]], list[tuple[Member, GroupStint]]]:
        current: list[tuple[Member, GroupStint]] = []
        former: list[tuple[Member, GroupStint]] = []
        for m in self.team.members:
            for s in m.stints:
                if s.group != group or s.start_ms > self.as_of:
                    continue
                if s.end_ms is None or s.end_ms > self.as_of:
                    current.append((m, s))
                elif s.end_ms > self.cycle[0]:
                    former.append((m, s))
        return current, former

    def _column_total(self, column: int) -> int:
        return int(sum(int(p.by_group[:, column].sum()) for p in self.per_day))

    def _daily(self, column: int, member: int | None) -> list[dict[str, Any]]:
        out = []
        for p in self.per_day:
            values = (
                p.by_group[:, column] if member is None else p.by_group[member : member + 1, column]
            )
            out.append({"date": _date(p.day), "spendCents": cents(int(np.sum(values)))})
        return out

    def _member(self, m: Member, stint: GroupStint, column: int, daily: bool) -> dict[str, Any]:
        spend = sum(
            int(p.by_group[m.index, column]) for p in self.per_day if _overlaps(stint, p.day)
        )
        body: dict[str, Any] = {
            "userId": m.user_id,
            "name": m.name,
            "email": m.email,
            "joinedAt": iso_ms(stint.start_ms),
            # A stint ending later (a scheduled removal) is still open as of this view.
            "leftAt": (
                iso_ms(stint.end_ms)
                if stint.end_ms is not None and stint.end_ms <= self.as_of
                else None
            ),
            "spendCents": cents(spend),
        }
        if daily:
            body["dailySpend"] = [
                {"date": _date(p.day), "spendCents": cents(int(p.by_group[m.index, column]))}
                for p in self.per_day
                if _overlaps(stint, p.day)
            ]
        return body


def _overlaps(stint: GroupStint, day: int) -> bool:
    start, end = day * DAY_MS, (day + 1) * DAY_MS
    return stint.start_ms < end and (stint.end_ms is None or stint.end_ms > start)
