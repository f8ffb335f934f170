"""The productivity export: one row per person and ISO week with their AI usage (requests,
tokens, cost, from the usage facts), what they committed (lines by origin) and their
cloud-agent runs.

A person is a primary email (lower case, directory aliases resolved), the same across the
scope's accounts. Usage no person is attributed to, and runs without a launcher, have no
row. A week cut by the range starts or ends with it (``week_start``/``week_end``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from unimeter.analytics import code_repository
from unimeter.analytics import service as analytics
from unimeter.analytics.chargeback import team_maps
from unimeter.analytics.consumption_repository import CONSUMPTION_METRICS, ConsumptionQuery
from unimeter.analytics.render import known_events
from unimeter.analytics.service import Scope
from unimeter.analytics.teams import TeamMap
from unimeter.runtime import Runtime

from .finops import Table, _name
from .focus import money
from .tables import Column, Row

_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
COLUMNS = (
    Column("iso_year", "int", nullable=False),
    Column("iso_week", "int", nullable=False),
    Column("week_start", "date", nullable=False),
    Column("week_end", "date", nullable=False),  # exclusive
    Column("user_email", "string", nullable=False),
    Column("team", "string"),  # on the week's last day in range; null: none
    Column("events", "int"),  # null where the vendor does not count requests
    *(Column(name, "int", nullable=False) for name in _TOKENS),
    Column("total_tokens", "int", nullable=False),
    Column("cost", "decimal", nullable=False),
    Column("currency", "string", nullable=False),
    Column("commits", "int", nullable=False),
    Column("lines_added", "int", nullable=False),
    Column("tab_lines_added", "int", nullable=False),
    Column("agent_lines_added", "int", nullable=False),
    Column("ai_lines_added", "int", nullable=False),
    Column("human_lines_added", "int"),  # null: no commit of the week reports it
    Column("agent_runs", "int", nullable=False),
    Column("agent_runs_finished", "int", nullable=False),
)


@dataclass(slots=True)
class Week:
    usage: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONSUMPTION_METRICS, 0))
    commits: int = 0
    lines: list[int] = field(default_factory=lambda: [0, 0, 0])  # added, tab, agent
    human: int | None = None
    runs: int = 0
    finished: int = 0


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def productivity(runtime: Runtime, scope: Scope, start: dt.date, end: dt.date) -> Table:
    async def rows() -> AsyncIterator[Row]:
        maps = await team_maps(runtime, scope, "auto")
        weeks = await _weeks(runtime, scope, maps, start, end)
        for (week, email), w in sorted(weeks.items()):
            first, stop = max(week, start), min(week + dt.timedelta(days=7), end)
            year, number, _ = week.isocalendar()
            yield (year, number, first, stop, email, _team(maps, email, stop - dt.timedelta(1)),
                   *_usage(w.usage), w.commits, *w.lines, w.lines[1] + w.lines[2], w.human,
                   w.runs, w.finished)  # fmt: skip

    return Table(_name("productivity", scope, start, end), COLUMNS, rows)


def _team(maps: dict[str, TeamMap], email: str, day: dt.date) -> str | None:
    """The person's team that day in the first account whose map places them."""
    for team_map in maps.values():
        found = team_map.at(email, day)
        if found is not None:
            return found.team
    return None


def _usage(metrics: dict[str, int]) -> list[object]:
    tokens = [metrics[name] for name in _TOKENS]
    return [known_events(metrics), *tokens, sum(tokens), money(metrics["charged_cents_e6"]), "USD"]


async def _weeks(
    runtime: Runtime, scope: Scope, maps: dict[str, TeamMap], start: dt.date, end: dt.date
) -> dict[tuple[dt.date, str], Week]:
    weeks: dict[tuple[dt.date, str], Week] = defaultdict(Week)
    q = ConsumptionQuery(scope.account_ids, start, end, by_user=True, by_model=False,
                         granularity="day", products=scope.products)  # fmt: skip
    for r in (await analytics.consumption_all(runtime, q)).rows:
        if r["user_email"]:
            w = weeks[(monday(r["period"]), maps[r["account_id"]].resolve(r["user_email"]))]
            for name in CONSUMPTION_METRICS:
                w.usage[name] += r[name]
    async with runtime.db.scanner() as session:
        commits = await code_repository.commit_days(
            session, scope.account_ids, start, end, primary_only=False
        )
        runs = await code_repository.runs(session, scope.account_ids, start, end)
    for c in commits:
        w = weeks[(monday(c.day), maps[c.account_id].resolve(c.user_email))]
        w.commits += c.commits
        added = (c.lines_added, c.tab_lines_added, c.agent_lines_added)
        w.lines = [a + b for a, b in zip(w.lines, added, strict=True)]
        if c.human_known:
            w.human = (w.human or 0) + c.human_lines_added
    for run in runs:
        if run.user_email:
            w = weeks[(monday(run.day), maps[run.account_id].resolve(run.user_email))]
            w.runs += 1
            w.finished += run.status == "finished"
    return weeks
