"""Ground truth: everything the simulator holds for an organization, for tests to compare
against. A Python API, not an HTTP route. Payloads come from the same code that serves the
HTTP endpoints, so "equal to the truth" means "equal to what the API would have served",
plus what the API hides (removed users, their removal times, archived records)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import records
from .config import DAY_MS
from .handlers import code_day_complete
from .ids import date_day, day_date
from .org import SimOrg
from .reports import cost_items, day_costs, message_results

if TYPE_CHECKING:
    from .world import SimulatedAnthropic


@dataclass(frozen=True, slots=True)
class TruthUser:
    id: str
    email: str
    name: str
    role: str  # the current role
    added_at_ms: int
    removed_at_ms: int | None


class OrgTruth:
    def __init__(self, sim: SimulatedAnthropic, org: SimOrg) -> None:
        self.sim = sim
        self.org = org

    @property
    def now_ms(self) -> int:
        return self.org.now_ms()

    @property
    def organization_id(self) -> str:
        return self.org.roster.org_id

    @property
    def organization_name(self) -> str:
        return self.org.roster.org_name

    @property
    def history_start(self) -> date:
        """The first UTC day with data."""
        return day_date(self.org.history_start_day)

    def users(self) -> list[TruthUser]:
        """Every user ever in the organization (joined by now), removed ones included."""
        now = self.now_ms
        return [
            TruthUser(
                id=u.id,
                email=u.email,
                name=u.name,
                role=u.role_at(now),
                added_at_ms=u.added_ms,
                removed_at_ms=u.removed_ms
                if u.removed_ms is not None and u.removed_ms <= now
                else None,
            )
            for u in sorted(self.org.roster.users, key=lambda u: u.id)
            if u.added_ms <= now
        ]

    def invites(self) -> list[dict[str, Any]]:
        now = self.now_ms
        listed = sorted(
            (i for i in self.org.roster.invites if i.invited_ms <= now), key=lambda i: i.id
        )
        return [records.invite_json(self.org, i) for i in listed]

    def workspaces(self) -> list[dict[str, Any]]:
        """Every workspace as served with ``include_archived=true`` (the default one has no
        record)."""
        now = self.now_ms
        return [
            records.workspace_json(self.org, ws, now)
            for ws in sorted(self.org.roster.workspaces, key=lambda w: w.id)
            if ws.created_ms <= now
        ]

    def workspace_members(self) -> list[dict[str, Any]]:
        """Every current member of every workspace (archived ones included)."""
        now = self.now_ms
        return [
            m
            for ws in self.workspaces()
            for m in records.workspace_members(self.org, ws["id"], now)
        ]

    def api_keys(self) -> list[dict[str, Any]]:
        now = self.now_ms
        return [
            records.api_key_json(self.org, k, now)
            for k in sorted(self.org.roster.api_keys, key=lambda k: k.id)
            if k.created_ms <= now
        ]

    def claude_code_rows(self, day: date) -> list[dict[str, Any]]:
        """The day's rows exactly as served now (every page, in served order)."""
        d = date_day(day)
        if not code_day_complete(d, self.now_ms):
            return []
        return records.code_rows(self.org, d)

    def claude_code_days(self) -> list[date]:
        """The days whose Claude Code rows are served now and not empty."""
        last = self.now_ms // DAY_MS
        return [
            day_date(d)
            for d in range(self.org.history_start_day, last + 1)
            if self.claude_code_rows(day_date(d))
        ]

    def claude_code_cost_by_email(self, day: date) -> dict[str, Decimal]:
        """Convenience: the day's estimated cost in cents per user email."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.claude_code_rows(day):
            if row["actor"]["type"] == "user_actor":
                email = row["actor"]["email_address"]
                for m in row["model_breakdown"]:
                    out[email] += Decimal(str(m["estimated_cost"]["amount"]))
        return dict(out)

    def messages_results(self, day: date, group_by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The results of the day's ``1d`` usage bucket with that grouping, as served now."""
        start = date_day(day) * DAY_MS
        if start > self.now_ms:
            return []
        return message_results(
            self.org.visible_usage(start, start + DAY_MS, self.now_ms), group_by, {}
        )

    def cost_items(self, day: date, group_by: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The items of the day's cost bucket with that grouping, as served now."""
        d = date_day(day)
        if d * DAY_MS > self.now_ms:
            return []
        return cost_items(day_costs(self.org, d, self.now_ms), group_by)

    def cost_cents(self, day: date) -> Decimal:
        """Convenience: the day's total cost in cents."""
        return sum((Decimal(i["amount"]) for i in self.cost_items(day)), Decimal(0))
