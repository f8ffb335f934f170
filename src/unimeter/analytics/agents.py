"""Cloud agents: runs by status, success rate, duration, pull requests, tokens and cost per
run, by person and by team.

A run counts in the team its launcher belonged to on the run's day; a run whose launcher
the vendor does not name has no person (and no team). Unknown durations, tokens and costs
are left out of the figures built on them, and each figure says over how many runs it is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from unimeter.kit.money import dollars
from unimeter.runtime import Runtime

from . import code_repository as repo
from .aicode import per_unit
from .chargeback import SourceChoice, team_maps_noted
from .coverage import as_dicts
from .service import Scope

STATUSES = ("creating", "running", "finished", "error", "cancelled", "expired")
TERMINAL = frozenset({"finished", "error", "cancelled", "expired"})


def percentile(values: list[int], q: float) -> int | None:
    """The nearest-rank percentile: the smallest value with at least ``q`` of the values at
    or below it; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@dataclass(slots=True)
class Runs:
    statuses: Counter[str] = field(default_factory=Counter)
    durations: list[int] = field(default_factory=list)  # terminal runs with a known one
    pull_requests: int = 0
    tokens: int = 0
    with_tokens: int = 0
    cost: int = 0
    with_cost: int = 0

    def add(self, run: repo.Run) -> None:
        self.statuses[run.status] += 1
        if run.status in TERMINAL and run.duration_ms is not None:
            self.durations.append(run.duration_ms)
        self.pull_requests += bool(run.pull_request_url)
        if run.tokens is not None:
            self.tokens += run.tokens
            self.with_tokens += 1
        if run.cost_cents_e6 is not None:
            self.cost += run.cost_cents_e6
            self.with_cost += 1

    def body(self) -> dict[str, Any]:
        runs = sum(self.statuses.values())
        terminal = sum(n for s, n in self.statuses.items() if s in TERMINAL)
        unit = per_unit(self.cost, self.with_cost)
        return {
            "runs": runs,
            "by_status": {s: self.statuses.get(s, 0) for s in STATUSES},
            "terminal_runs": terminal,
            "success_rate": round(self.statuses["finished"] / terminal, 4) if terminal else None,
            "duration_ms": {
                "p50": percentile(self.durations, 0.5),
                "p90": percentile(self.durations, 0.9),
                "runs": len(self.durations),
            },
            "pull_requests": self.pull_requests,
            "tokens": {
                "total": self.tokens if self.with_tokens else None,
                "per_run": round(self.tokens / self.with_tokens) if self.with_tokens else None,
                "runs": self.with_tokens,
            },
            "cost": {
                "total": dollars(self.cost) if self.with_cost else None,
                "per_run": dollars(unit) if unit is not None else None,
                "runs": self.with_cost,
                "currency": "USD",
            },
        }


@dataclass(frozen=True, slots=True)
class AgentsReport:
    start: dt.date
    end: dt.date
    totals: Runs
    people: dict[str | None, Runs]  # None: runs whose launcher is unknown
    teams: dict[str | None, Runs]
    sources: dict[str, str]
    notes: list[dict[str, Any]]


async def agents(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, source: SourceChoice
) -> AgentsReport:
    maps, notes = await team_maps_noted(runtime, scope, source)
    async with runtime.db.scanner() as session:
        runs = await repo.runs(session, scope.account_ids, start, end)
    totals = Runs()
    people: dict[str | None, Runs] = defaultdict(Runs)
    teams: dict[str | None, Runs] = defaultdict(Runs)
    for run in runs:
        totals.add(run)
        email = run.user_email or None
        team_map = maps[run.account_id]
        people[team_map.resolve(email) if email else None].add(run)
        found = team_map.at(email, run.day) if email else None
        teams[found.team if found else None].add(run)
    return AgentsReport(start, end, totals, dict(people), dict(teams),
                        {a: m.source for a, m in maps.items()}, as_dicts(notes))  # fmt: skip


def _named(key: str | None) -> tuple[bool, str]:
    return (key is None, key or "")


def person_rows(report: AgentsReport) -> list[dict[str, Any]]:
    """Every person's runs, by email (runs without a known launcher last)."""
    return [
        {"user_email": email, **report.people[email].body()}
        for email in sorted(report.people, key=_named)
    ]


def after(rows: list[dict[str, Any]], cursor: list[Any]) -> list[dict[str, Any]]:
    mark = _named(None if cursor[0] is None else str(cursor[0]))
    return [r for r in rows if _named(r["user_email"]) > mark]


def body(report: AgentsReport) -> dict[str, Any]:
    """Everything but the paginated people (``result``)."""
    return {
        "start_date": report.start.isoformat(),
        "end_date": report.end.isoformat(),
        "sources": report.sources,
        "notes": report.notes,
        "totals": report.totals.body(),
        "by_team": [
            {"team": team, **report.teams[team].body()} for team in sorted(report.teams, key=_named)
        ],
    }
