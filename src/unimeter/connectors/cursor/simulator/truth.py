"""Ground truth: everything the simulator holds for a team, for tests to compare against.

This is a Python API, not an HTTP route. Payloads are produced by the same code that serves
the HTTP endpoints, so "equal to the truth" means "equal to what Cursor would have served",
plus what the API hides (true emails of removed members, data past retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .audit import AuditQuery
from .config import DAY_MS
from .enterprise_truth import EnterpriseTruth
from .events import EventFilter, serialize_events
from .groups import UNASSIGNED_ID, GroupsView
from .roster import UNASSIGNED
from .spend import SpendQuery, spend_response
from .usage import build_row, day_range
from .world import SimulatedCursor, TeamServices


@dataclass(frozen=True, slots=True)
class TruthMember:
    user_id: str
    numeric_id: int
    name: str
    email: str
    role: str
    joined_ms: int
    removed_ms: int | None
    # (group id, joined ms, left ms or None); the Unassigned group is never listed.
    group_stints: tuple[tuple[str, int, int | None], ...]


@dataclass(frozen=True, slots=True)
class TruthEvent:
    payload: dict[str, Any]  # exactly as the API serves it now
    email: str  # the member's real email, even when the payload's is blank
    user_id: str
    timestamp_ms: int
    after_removal: bool


class TeamTruth(EnterpriseTruth):
    def __init__(self, sim: SimulatedCursor, key: str) -> None:
        self._svc: TeamServices = sim.all_services(key)
        self.team = self._svc.team

    @property
    def history_start_ms(self) -> int:
        return self.team.history_start_ms

    @property
    def retention_start_ms(self) -> int:
        return self.team.retention_start_ms(self.now_ms)

    def members(self) -> list[TruthMember]:
        groups = {g.index: g.id for g in self.team.roster.groups}
        return [
            TruthMember(
                user_id=m.user_id,
                numeric_id=m.numeric_id,
                name=m.name,
                email=m.email,
                role=m.role_at(self.now_ms),
                joined_ms=m.joined_ms,
                removed_ms=m.removed_ms if self.team.is_removed(m, self.now_ms) else None,
                group_stints=tuple(
                    (groups[s.group], s.start_ms, _ended(s.end_ms, self.now_ms))
                    for s in m.stints
                    if s.group != UNASSIGNED and s.start_ms <= self.now_ms
                ),
            )
            for m in self.team.members
            if m.joined_ms <= self.now_ms
        ]

    def events(
        self, start_ms: int | None = None, end_ms: int | None = None, *, retention: bool = False
    ) -> list[TruthEvent]:
        """Every visible event in ``[start, end]`` (inclusive), newest first."""
        now = self.now_ms
        flt = EventFilter(start_ms=start_ms or 0, end_ms=now if end_ms is None else end_ms)
        selection = self._svc.events.select(flt, now, retention=retention)
        out: list[TruthEvent] = []
        for events, idx in selection.parts:
            payloads = serialize_events(self.team, [(events, idx)], now)
            for payload, u, ts in zip(
                payloads, events.user[idx].tolist(), events.ts[idx].tolist(), strict=True
            ):
                m = self.team.members[u]
                out.append(
                    TruthEvent(
                        payload=payload,
                        email=m.email,
                        user_id=m.user_id,
                        timestamp_ms=ts,
                        after_removal=m.removed_ms is not None and ts >= m.removed_ms,
                    )
                )
        return out

    def daily_usage(
        self, start_ms: int | None = None, end_ms: int | None = None, *, retention: bool = False
    ) -> list[dict[str, Any]]:
        """Every daily row (paginated-mode shape, with ``isActive``), by member then day."""
        now = self.now_ms
        days = day_range(
            self.team, start_ms or 0, now if end_ms is None else end_ms, now, retention=retention
        )
        stats = [self._svc.usage.day_stats(d, now) for d in days]
        return [
            build_row(self.team, s, m.index, with_active=True)
            for m in self.team.members
            for s in stats
            if s.in_row[m.index]
        ]

    def spend(self) -> dict[str, Any]:
        """The spend body with every listed member on one page."""
        query = SpendQuery(page=1, page_size=max(1, len(self.team.members)))
        return spend_response(self.team, self._svc.ledger, query, self.now_ms)

    def groups(self, cycle_ms: int | None = None) -> dict[str, Any]:
        cycle = self.team.cycle_bounds(self.now_ms if cycle_ms is None else cycle_ms)
        return GroupsView(self.team, self._svc.ledger, cycle, self.now_ms).list_body()

    def audit_events(
        self, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[dict[str, Any]]:
        now = self.now_ms
        q = AuditQuery(
            start_ms=start_ms or 0, end_ms=now if end_ms is None else end_ms, page_size=10**9
        )
        events, _ = self._svc.audit.query(q, now, retention=False)
        return events

    def cycle_start_ms(self) -> int:
        return self.team.cycle_bounds(self.now_ms)[0]

    def bump_costs(self) -> None:
        """Retroactively adjust the costs of every event inside the adjustment window."""
        self.team.bump_costs()


def _ended(end_ms: int | None, now_ms: int) -> int | None:
    """A stint that ends later (a scheduled removal) is still open now."""
    return end_ms if end_ms is not None and end_ms <= now_ms else None


__all__ = ["DAY_MS", "UNASSIGNED_ID", "TeamTruth", "TruthEvent", "TruthMember"]
