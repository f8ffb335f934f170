"""Per-member spend for the current billing cycle (``POST /teams/spend``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .ledger import Ledger, cycle_days
from .pricing import cents
from .roster import Member
from .team import SimTeam

SortBy = Literal["amount", "date", "user"]
SortDirection = Literal["asc", "desc"]


@dataclass(frozen=True, slots=True)
class SpendQuery:
    search_term: str | None = None
    sort_by: SortBy = "date"
    sort_direction: SortDirection = "desc"
    page: int = 1
    page_size: int = 100


def effective_limit(team: SimTeam, m: Member) -> int:
    if m.hard_limit_override_dollars:
        return m.hard_limit_override_dollars
    if m.spend_limit_dollars is not None:
        return m.spend_limit_dollars
    return team.roster.default_limit_dollars


def spend_response(team: SimTeam, ledger: Ledger, query: SpendQuery, now_ms: int) -> dict[str, Any]:
    cycle = team.cycle_bounds(now_ms)
    totals = ledger.sum_days(cycle_days(team, cycle, now_ms), now_ms)
    listed = [
        m
        for m in team.members
        if m.joined_ms <= now_ms and (m.removed_ms is None or m.removed_ms >= cycle[0])
    ]
    if query.search_term:
        needle = query.search_term.lower()
        listed = [m for m in listed if needle in m.name.lower() or needle in m.email.lower()]

    def overall(m: Member) -> int:
        return int(totals.charged[m.index]) if totals is not None else 0

    sort_keys = {
        "amount": lambda m: (overall(m), m.user_id),
        "date": lambda m: (m.joined_ms, m.user_id),
        "user": lambda m: (m.name.lower(), m.user_id),
    }
    listed.sort(key=sort_keys[query.sort_by], reverse=query.sort_direction == "desc")
    total_members = len(listed)
    chosen = listed[(query.page - 1) * query.page_size : query.page * query.page_size]
    rows = [_spend_row(team, m, totals, now_ms) for m in chosen]
    body: dict[str, Any] = {
        "teamMemberSpend": rows,
        "subscriptionCycleStart": cycle[0],
        "totalMembers": total_members,
        "totalPages": -(-total_members // query.page_size),
    }
    if team.config.quirks.extra_fields:
        body["limitedUsersCount"] = sum(
            1 for m in listed if overall(m) >= effective_limit(team, m) * 100 * 1_000_000
        )
        body["maxUserSpendCents"] = cents(max((overall(m) for m in listed), default=0))
    return body


def _spend_row(team: SimTeam, m: Member, totals: Any, now_ms: int) -> dict[str, Any]:
    overall = int(totals.charged[m.index]) if totals is not None else 0
    on_demand = int(totals.usage_charged[m.index]) if totals is not None else 0
    limit = effective_limit(team, m)
    row: dict[str, Any] = {
        "userId": m.user_id,
        "name": m.name,
        "email": m.email,
        "role": m.role,
        "spendCents": cents(on_demand),
        "overallSpendCents": cents(overall),
        "fastPremiumRequests": int(totals.usage_count[m.index]) if totals is not None else 0,
        "hardLimitOverrideDollars": m.hard_limit_override_dollars,
        "monthlyLimitDollars": m.spend_limit_dollars,
        "effectivePerUserLimitDollars": limit,
    }
    if team.config.quirks.extra_fields:
        row["profilePictureUrl"] = None
        row["totalPercentUsed"] = round(overall / (limit * 1e8) * 100, 2) if limit else 0
        if team.is_removed(m, now_ms):
            row["removedAt"] = m.removed_ms
    return row
