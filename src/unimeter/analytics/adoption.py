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
from . import aiusage, vendors
from .adoption_repository import ADOPTION_METRICS
from .chargeback import SourceChoice, team_maps_noted
from .coverage import Note, as_dicts
from .repository import SeatHolder
from .service import Scope
from .teams import TeamMap
from .vendors import AdoptionKeys

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


def scorecard(
    people: list[Person], start: dt.date, end: dt.date,
    labels: AdoptionKeys = vendors.CANONICAL,
) -> dict[str, Any]:  # fmt: skip
    """A metric no vendor reports sums to 0 over facts that leave it unknown: its ratios
    have no denominator and stay null."""
    days = [start + dt.timedelta(days=n) for n in range((end - start).days)]
    period = set(days)
    last7 = set(days[-7:])
    last30 = set(days[-30:])
    totals = dict.fromkeys(ADOPTION_METRICS, 0)
    for p in people:
        for name in ADOPTION_METRICS:
            totals[name] += p.metrics[name]
    features = sum(totals[f] for f, _ in labels.feature_mix)
    cohorts = dict.fromkeys(("none", "light", "moderate", "heavy"), 0)
    for p in people:
        cohorts[cohort(len(p.active_days), len(days))] += 1
    mau = sum(1 for p in people if p.active_days & last30)
    return {
        "members": len(people),
        # Each day's active people, added up over the days: each person's active days in
        # the period, added up over the people.
        "dau": round(sum(len(p.active_days & period) for p in people) / len(days), 2),
        "wau": sum(1 for p in people if p.active_days & last7),
        "mau": mau,
        "active_ratio": _ratio(mau, len(people)),
        labels.completion_acceptance: _ratio(
            totals["completions_accepted"], totals["completions_shown"]
        ),
        "edit_acceptance": _ratio(totals["accepts"], totals["applies"]),
        "feature_shares": {label: _ratio(totals[f], features) for f, label in labels.feature_mix},
        "cohorts": cohorts,
    }


def _tally(
    roster: list[SeatHolder],
    facts: list[tuple[Any, ...]],
    usage: list[tuple[str, str, set[dt.date]]],
) -> tuple[list[Person], set[str]]:
    """Each seat holder with their summed metrics and active days (days a fact marks
    active, and days with usage), and the accounts whose facts report any metric."""
    people = [Person(h.account_id, h.email) for h in roster]
    by_email = {(p.account_id, p.email.lower()): p for p in people}
    reporting: set[str] = set()
    n = len(ADOPTION_METRICS)
    for account_id, email, days, *values in facts:
        sums, reported = values[:n], values[n]
        if reported:
            reporting.add(account_id)
        if (who := by_email.get((account_id, email.lower()))) is not None:
            who.active_days |= days
            for name, value in zip(ADOPTION_METRICS, sums, strict=True):
                who.metrics[name] += int(value or 0)
    for account_id, email, days in usage:
        if (who := by_email.get((account_id, email.lower()))) is not None:
            who.active_days |= days
    return people, reporting


@dataclass(frozen=True, slots=True)
class _Period:
    teams: dict[str | None, list[Person]]
    # Accounts with facts in the period, and those whose facts report an adoption metric.
    with_facts: set[str]
    reporting: set[str]


async def _people(
    runtime: Runtime, scope: Scope, maps: dict[str, TeamMap], start: dt.date, end: dt.date
) -> _Period:
    """The period's seat holders by team, with their active days and summed metrics."""
    start_ms = (start - dt.date(1970, 1, 1)).days * 86_400_000
    day_totals = _day_total_accounts(runtime, scope)
    async with runtime.db.scanner() as session:
        roster = await repo.members_during(session, scope.account_ids, start_ms)
        facts = await repo.member_days(
            session, scope.account_ids, start, end, day_totals, scope.products
        )
        usage = await repo.event_days(session, scope.account_ids, start, end, scope.products)
    people, reporting = _tally(roster, facts, usage)
    last_day = end - dt.timedelta(days=1)
    teams: dict[str | None, list[Person]] = defaultdict(list)
    for p in people:
        found = maps[p.account_id].at(p.email, last_day)
        teams[found.team if found else None].append(p)
    with_facts = {row[0] for row in facts} | {a for a, _, _ in usage}
    return _Period(teams, with_facts, reporting)


def _day_total_accounts(runtime: Runtime, scope: Scope) -> dict[str, list[str]]:
    """Metric -> the accounts whose vendor reports it in its day totals."""
    out: dict[str, list[str]] = defaultdict(list)
    for account in scope.accounts:
        for name in vendors.day_total_metrics(runtime, account.integration):
            out[name].append(account.id)
    return out


def _unreported_notes(period: _Period, labels: AdoptionKeys) -> list[Note]:
    """Accounts with usage in the period but no fact reporting completions, edits or
    requests by feature: their vendor does not report them, so they are unknown."""
    return [
        Note(
            "adoption_metrics_unreported",
            account_id,
            "This account's vendor does not report completions, edits or requests by "
            "feature, so acceptance and feature shares are unknown for its people (their "
            "activity still counts).",
            (labels.completion_acceptance, "edit_acceptance", "feature_shares"),
        )
        for account_id in sorted(period.with_facts - period.reporting)
    ]


async def adoption(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, source: SourceChoice
) -> dict[str, Any]:
    """Scorecards per team for ``[start, end)`` and the same-length period before it."""
    previous_start = start - (end - start)
    maps, notes = await team_maps_noted(runtime, scope, source)
    now = await _people(runtime, scope, maps, start, end)
    before = await _people(runtime, scope, maps, previous_start, start)
    # The keys of the vendors whose facts report these metrics (a vendor that reports none
    # has no say in what they are called), else of every vendor of the scope.
    reporting = now.reporting | before.reporting
    vendors_of = [a.integration for a in scope.accounts if a.id in reporting or not reporting]
    labels = vendors.adoption_labels(runtime, vendors_of)
    teams = sorted(set(now.teams) | set(before.teams), key=lambda t: (t is None, t or ""))
    rows = []
    for team in teams:
        current = scorecard(now.teams.get(team, []), start, end, labels)
        previous = scorecard(before.teams.get(team, []), previous_start, start, labels)
        rows.append({"team": team, **current, "previous": previous,
                     "change": _change(current, previous, labels)})  # fmt: skip
    everyone = [p for people in now.teams.values() for p in people]
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "previous_start_date": previous_start.isoformat(),
        "sources": {a: m.source for a, m in maps.items()},
        "notes": as_dicts(notes + _unreported_notes(now, labels)),
        "result": rows,
        "all": scorecard(everyone, start, end, labels),
        # The vendors' own daily active users by surface, where they report them.
        "active_users": await aiusage.active_users(runtime, scope, start=start, end=end),
    }


def _change(
    current: dict[str, Any], previous: dict[str, Any], labels: AdoptionKeys
) -> dict[str, float | None]:
    """Current minus previous, for every number both periods have."""
    out: dict[str, float | None] = {}
    for name in ("members", "dau", "wau", "mau", "active_ratio", labels.completion_acceptance,
                 "edit_acceptance"):  # fmt: skip
        a, b = current[name], previous[name]
        out[name] = round(a - b, 4) if a is not None and b is not None else None
    return out
