"""Adoption scorecards per team: active users, acceptance, feature mix and cohorts for a
period, with the change against the period before it.

A person counts in the team they belonged to on the period's last day (the effective-dated
team map); people with no team there form the ``null`` team. Only members who held a seat
during the period count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from unimeter.runtime import Runtime

from . import adoption_repository as repo
from .adoption_repository import ADOPTION_METRICS
from .chargeback import SourceChoice, team_maps_noted
from .coverage import as_dicts
from .repository import SeatHolder
from .service import Scope
from .teams import TeamMap

FEATURES = ("agent_requests", "chat_requests", "composer_requests", "cmdk_requests")
# Cohort bounds as shares of the period's days (for 30 days: 1-5 light, 6-14 moderate).
LIGHT_BELOW, HEAVY_FROM = 0.2, 0.5


@dataclass(slots=True)
class Person:
    account_id: str
    email: str
    active_days: set[dt.date] = field(default_factory=set)
    metrics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ADOPTION_METRICS, 0))


def cohort(active_days: int, period_days: int) -> str:
    if active_days == 0:
        return "none"
    share = active_days / period_days
    return "light" if share < LIGHT_BELOW else "moderate" if share < HEAVY_FROM else "heavy"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def scorecard(people: list[Person], start: dt.date, end: dt.date) -> dict[str, Any]:
    days = [start + dt.timedelta(days=n) for n in range((end - start).days)]
    last7 = set(days[-7:])
    last30 = set(days[-30:])
    totals = dict.fromkeys(ADOPTION_METRICS, 0)
    for p in people:
        for name in ADOPTION_METRICS:
            totals[name] += p.metrics[name]
    features = sum(totals[f] for f in FEATURES)
    cohorts = dict.fromkeys(("none", "light", "moderate", "heavy"), 0)
    for p in people:
        cohorts[cohort(len(p.active_days), len(days))] += 1
    mau = sum(1 for p in people if p.active_days & last30)
    return {
        "members": len(people),
        "dau": round(
            sum(sum(1 for p in people if d in p.active_days) for d in days) / len(days), 2
        ),
        "wau": sum(1 for p in people if p.active_days & last7),
        "mau": mau,
        "active_ratio": _ratio(mau, len(people)),
        "tab_acceptance": _ratio(totals["tabs_accepted"], totals["tabs_shown"]),
        "edit_acceptance": _ratio(totals["accepts"], totals["applies"]),
        "feature_shares": {
            f.removesuffix("_requests"): _ratio(totals[f], features) for f in FEATURES
        },
        "cohorts": cohorts,
    }


def _tally(
    roster: list[SeatHolder],
    daily: list[tuple[Any, ...]],
    events: list[tuple[str, str, set[dt.date]]],
) -> list[Person]:
    """Each seat holder with their summed metrics and active days (days marked active in
    the daily rows, and days with usage events)."""
    by_member: dict[int | None, Person] = {
        h.member_id: Person(h.account_id, h.email) for h in roster
    }
    by_email = {(p.account_id, p.email.lower()): p for p in by_member.values()}
    for account_id, member_id, email, days, *values in daily:
        # Daily rows name the member when the sync matched one, else only the email.
        who = by_member.get(member_id) or by_email.get((account_id, (email or "").lower()))
        if who is not None:
            who.active_days |= days
            for name, value in zip(ADOPTION_METRICS, values, strict=True):
                who.metrics[name] += int(value or 0)
    for account_id, email, days in events:
        if (who := by_email.get((account_id, email.lower()))) is not None:
            who.active_days |= days
    return list(by_member.values())


async def _people(
    runtime: Runtime, scope: Scope, maps: dict[str, TeamMap], start: dt.date, end: dt.date
) -> dict[str | None, list[Person]]:
    """The period's seat holders by team, with their active days and daily metrics."""
    start_ms = (start - dt.date(1970, 1, 1)).days * 86_400_000
    async with runtime.db.reader() as session:
        roster = await repo.members_during(session, scope.account_ids, start_ms)
        daily = await repo.member_days(session, scope.account_ids, start, end)
        events = await repo.event_days(session, scope.account_ids, start, end)
    people = _tally(roster, daily, events)
    last_day = end - dt.timedelta(days=1)
    teams: dict[str | None, list[Person]] = defaultdict(list)
    for p in people:
        found = maps[p.account_id].at(p.email, last_day)
        teams[found.team if found else None].append(p)
    return teams


async def adoption(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, source: SourceChoice
) -> dict[str, Any]:
    """Scorecards per team for ``[start, end)`` and the same-length period before it."""
    previous_start = start - (end - start)
    maps, notes = await team_maps_noted(runtime, scope, source)
    now = await _people(runtime, scope, maps, start, end)
    before = await _people(runtime, scope, maps, previous_start, start)
    teams = sorted(set(now) | set(before), key=lambda t: (t is None, t or ""))
    rows = []
    for team in teams:
        current = scorecard(now.get(team, []), start, end)
        previous = scorecard(before.get(team, []), previous_start, start)
        rows.append({"team": team, **current, "previous": previous,
                     "change": _change(current, previous)})  # fmt: skip
    everyone = [p for people in now.values() for p in people]
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "previous_start_date": previous_start.isoformat(),
        "sources": {a: m.source for a, m in maps.items()},
        "notes": as_dicts(notes),
        "result": rows,
        "all": scorecard(everyone, start, end),
    }


def _change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, float | None]:
    """Current minus previous, for every number both periods have."""
    out: dict[str, float | None] = {}
    for name in ("members", "dau", "wau", "mau", "active_ratio", "tab_acceptance",
                 "edit_acceptance"):  # fmt: skip
        a, b = current[name], previous[name]
        out[name] = round(a - b, 4) if a is not None and b is not None else None
    return out
