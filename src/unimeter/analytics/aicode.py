"""What AI wrote: committed lines by origin (inline completions, agent edits, by hand) per
team, person or repository and period, and what each AI-written line cost.

A commit counts in the team its author belonged to on the commit's day (the effective-dated
team map, as chargeback charges cost). ``ai_share`` is AI lines added (completions plus
agent edits) over all lines added; hand-written lines a vendor does not report are unknown
(null), never 0, and do not enter the share, whose denominator is every line added.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from unimeter.kit.money import dollars
from unimeter.runtime import Runtime

from . import adoption, render
from . import chargeback as charges
from . import code_repository as repo
from .chargeback import SourceChoice, bucket, team_maps_noted
from .coverage import Note, as_dicts
from .service import Scope
from .teams import TeamMap

GroupBy = Literal["team", "user", "repository"]
Branch = Literal["primary", "all"]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def per_unit(cost: int, lines: int) -> int | None:
    """Cost (cents e6) per unit (a line, a run), to the nearest millionth of a cent; None
    without units."""
    if not lines:
        return None
    return int((Decimal(cost) / lines).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(slots=True)
class Lines:
    """Commits and their lines by origin, summed; the authors are people (primary emails)."""

    commits: int = 0
    lines_added: int = 0
    tab_lines_added: int = 0
    agent_lines_added: int = 0
    human_lines_added: int = 0
    human_known: int = 0  # commits whose hand-written lines the vendor reports
    authors: set[str] = field(default_factory=set)

    def add(self, row: repo.CommitDay, person: str) -> None:
        self.commits += row.commits
        self.lines_added += row.lines_added
        self.tab_lines_added += row.tab_lines_added
        self.agent_lines_added += row.agent_lines_added
        self.human_lines_added += row.human_lines_added
        self.human_known += row.human_known
        self.authors.add(person)

    @property
    def ai_lines_added(self) -> int:
        return self.tab_lines_added + self.agent_lines_added

    def body(self) -> dict[str, Any]:
        return {
            "commits": self.commits,
            "lines_added": self.lines_added,
            "tab_lines_added": self.tab_lines_added,
            "agent_lines_added": self.agent_lines_added,
            # The known part; null when no commit of the group reports it.
            "human_lines_added": self.human_lines_added if self.human_known else None,
            "ai_share": share(self.ai_lines_added, self.lines_added),
        }


GroupKey = tuple[str | None, dt.date]  # (team, person or repository; period start)


@dataclass(frozen=True, slots=True)
class AiCodeReport:
    start: dt.date
    end: dt.date
    branch: Branch
    group_by: GroupBy
    granularity: str
    totals: Lines
    groups: list[tuple[GroupKey, Lines]]  # in keyset order
    cost: list[dict[str, Any]]  # per team: adoption, and cost per AI line by month
    sources: dict[str, str]
    notes: list[dict[str, Any]]


def _group(maps: dict[str, TeamMap], row: repo.CommitDay, by: GroupBy) -> str | None:
    if by == "user":
        return maps[row.account_id].resolve(row.user_email)
    if by == "repository":
        return row.repository
    found = maps[row.account_id].at(row.user_email, row.day)
    return found.team if found else None


def order(key: GroupKey) -> tuple[bool, str, dt.date]:
    """Named groups by name, the null group (no team, no repository) last, then period."""
    return (key[0] is None, key[0] or "", key[1])


def cursor_key(key: GroupKey) -> list[Any]:
    return [key[0], key[1].isoformat()]


def after(groups: list[tuple[GroupKey, Lines]], cursor: list[Any]) -> list[tuple[GroupKey, Lines]]:
    mark = order((None if cursor[0] is None else str(cursor[0]),
                  dt.date.fromisoformat(str(cursor[1]))))  # fmt: skip
    return [g for g in groups if order(g[0]) > mark]


async def ai_code(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, branch: Branch,
    group_by: GroupBy, granularity: str, source: SourceChoice, with_cost: bool = True,
) -> AiCodeReport:  # fmt: skip
    """``with_cost=False`` leaves out the cost per AI line (and its chargeback and adoption
    reads), for a caller that shows only the lines."""
    maps, notes = await team_maps_noted(runtime, scope, source)
    async with runtime.db.scanner() as session:
        rows = await repo.commit_days(
            session, scope.account_ids, start, end, primary_only=branch == "primary"
        )
    totals = Lines()
    groups: dict[GroupKey, Lines] = defaultdict(Lines)
    for row in rows:
        person = maps[row.account_id].resolve(row.user_email)
        totals.add(row, person)
        key = (_group(maps, row, group_by), bucket(row.day, granularity, start))
        groups[key].add(row, person)
    cost: list[dict[str, Any]] = []
    if with_cost:
        cost, clipped = await _cost_per_line(runtime, scope, maps, rows, start, end, source)
        notes = [*notes, *clipped]
    return AiCodeReport(
        start, end, branch, group_by, granularity, totals,
        sorted(groups.items(), key=lambda g: order(g[0])), cost,
        {a: m.source for a, m in maps.items()}, as_dicts(notes),
    )  # fmt: skip


async def _cost_per_line(
    runtime: Runtime, scope: Scope, maps: dict[str, TeamMap], rows: list[repo.CommitDay],
    start: dt.date, end: dt.date, source: SourceChoice,
) -> tuple[list[dict[str, Any]], list[Note]]:  # fmt: skip
    """Per team: its adoption over the range, and per month the spend of its people (the
    chargeback of the usage facts) over the AI lines they committed.

    Only spend that could have produced tracked lines is counted: that of the accounts with
    code tracking, from the day their tracking begins. A tool whose lines no commit records
    (or the weeks before tracking was turned on) would otherwise inflate every ratio."""
    ai_lines: dict[tuple[dt.date, str | None], int] = defaultdict(int)
    for row in rows:
        found = maps[row.account_id].at(row.user_email, row.day)
        month = bucket(row.day, "month", start)
        ai_lines[(month, found.team if found else None)] += (
            row.tab_lines_added + row.agent_lines_added
        )
    cost, notes = await _tracked_spend(runtime, scope, start, end, source)
    scorecards = await adoption.adoption(runtime, scope, start=start, end=end, source=source)
    adopted = {row["team"]: row for row in scorecards["result"]}
    teams = {team for _, team in [*ai_lines, *cost]}
    out = []
    for team in sorted(teams, key=lambda t: (t is None, t or "")):
        months = sorted({m for m, t in [*ai_lines, *cost] if t == team})
        card = adopted.get(team, {})
        total_cost = sum(cost.get((m, team), 0) for m in months)
        total_lines = sum(ai_lines.get((m, team), 0) for m in months)
        out.append({
            "team": team,
            "adoption": {k: card.get(k) for k in ("members", "dau", "wau", "mau", "active_ratio")},
            **_money(total_cost, total_lines),
            "months": [
                {"period_start": m.isoformat(),
                 "period_end": render.period_end(m, "month", end).isoformat(),
                 **_money(cost.get((m, team), 0), ai_lines.get((m, team), 0))}
                for m in months
            ],
        })  # fmt: skip
    return out, notes


async def _tracked_spend(
    runtime: Runtime, scope: Scope, start: dt.date, end: dt.date, source: SourceChoice
) -> tuple[dict[tuple[dt.date, str | None], int], list[Note]]:
    """Spend per (month, team) of the accounts with code tracking, each from its first
    tracked day; a note for each account left out or counted from later than ``start``."""
    async with runtime.db.scanner() as session:
        since = await repo.tracked_since(session, scope.account_ids)
    cost: dict[tuple[dt.date, str | None], int] = defaultdict(int)
    notes: list[Note] = []
    for account in scope.accounts:
        first = since.get(account.id)
        if first is None:
            notes.append(Note("cost_not_tracked", account.id, "no commits are tracked for "
                              "this account, so its spend is not in the cost per AI line",
                              ("cost_per_ai_line",)))  # fmt: skip
            continue
        begin = max(start, first)
        if begin >= end:
            continue
        if begin > start:
            notes.append(Note("cost_tracked_since", account.id, f"code tracking begins on "
                              f"{begin.isoformat()}: spend before it is not in the cost per "
                              "AI line", ("cost_per_ai_line",)))  # fmt: skip
        spent = await charges.chargeback(
            runtime, replace(scope, accounts=(account,)), start=begin, end=end, by="team",
            granularity="month", source=source,
        )  # fmt: skip
        for (month, team), charge in spent.charges.items():
            cost[(month, team)] += charge.metrics["charged_cents_e6"]
    return cost, notes


def _money(cost: int, lines: int) -> dict[str, Any]:
    unit = per_unit(cost, lines)
    return {
        "cost": dollars(cost),
        "ai_lines_added": lines,
        "cost_per_ai_line": dollars(unit) if unit is not None else None,
    }


def group_body(report: AiCodeReport, key: GroupKey, lines: Lines) -> dict[str, Any]:
    name, period = key
    field_name = {"team": "team", "user": "user_email", "repository": "repository"}
    return {
        "period_start": period.isoformat(),
        "period_end": render.period_end(period, report.granularity, report.end).isoformat(),
        field_name[report.group_by]: name,
        **lines.body(),
        "active_authors": len(lines.authors),
    }


def body(report: AiCodeReport) -> dict[str, Any]:
    """Everything but the paginated groups (``result``)."""
    return {
        "start_date": report.start.isoformat(),
        "end_date": report.end.isoformat(),
        "branch": report.branch,
        "group_by": report.group_by,
        "granularity": report.granularity,
        "sources": report.sources,
        "notes": report.notes,
        "totals": {**report.totals.body(), "active_authors": len(report.totals.authors)},
        "coverage": {
            "commits_with_human_lines": report.totals.human_known,
            "commits_without_human_lines": report.totals.commits - report.totals.human_known,
        },
        "cost_per_ai_line": report.cost,
    }
