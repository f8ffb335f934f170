"""SQL of the AI-code analyses: commits summed per person, repository and day; cloud-agent
runs one by one (percentiles need each duration); per-day activity counts by kind and key.
Grouping by team and period happens in Python (the effective-dated team map is there)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import ActivityCount, AgentRun, Commit


@dataclass(frozen=True, slots=True)
class CommitDay:
    """One person's commits to one repository on one day, summed."""

    account_id: str
    user_email: str
    repository: str | None
    day: dt.date
    commits: int
    lines_added: int
    tab_lines_added: int
    agent_lines_added: int
    # The sum over the commits whose hand-written lines are known, and how many those are.
    human_lines_added: int
    human_known: int


@dataclass(frozen=True, slots=True)
class Run:
    account_id: str
    key: str
    agent_id: str
    user_email: str | None
    status: str
    repository: str | None
    pull_request_url: str | None
    created_at: int
    day: dt.date
    duration_ms: int | None
    tokens: int | None  # the sum of the known token counts; None: none known
    cost_cents_e6: int | None


async def commit_days(
    session: AsyncSession,
    account_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    *,
    primary_only: bool,
) -> list[CommitDay]:
    """Commits of ``[start, end)``; ``primary_only``: only those the vendor knows were on a
    primary branch (an unknown branch kind does not count as primary)."""
    c = Commit
    key = (c.account_id, c.user_email, c.repository, c.day)
    where = [c.account_id.in_(account_ids), c.day >= start, c.day < end]
    if primary_only:
        where.append(c.is_primary_branch.is_(True))
    rows = await session.execute(
        select(*key, func.count(), func.sum(c.lines_added), func.sum(c.completion_lines_added),
               func.sum(c.agent_lines_added), func.sum(c.human_lines_added),
               func.count(c.human_lines_added))
        .where(*where)
        .group_by(*key)
    )  # fmt: skip
    return [
        CommitDay(a, u, r, _date(d), int(n), int(added or 0), int(tab or 0), int(agent or 0),
                  int(human or 0), int(known))
        for a, u, r, d, n, added, tab, agent, human, known in rows.all()
    ]  # fmt: skip


async def tracked_since(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, dt.date]:
    """Per account, the first day it has commits for: where its code tracking begins (an
    account without any is not tracked)."""
    rows = await session.execute(
        select(Commit.account_id, func.min(Commit.day))
        .where(Commit.account_id.in_(account_ids))
        .group_by(Commit.account_id)
    )
    return {account_id: _date(day) for account_id, day in rows.all()}


def _tokens(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


async def runs(
    session: AsyncSession,
    account_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    *,
    user_email: str | None = None,
) -> list[Run]:
    """The agent runs created in ``[start, end)``, oldest first."""
    r = AgentRun
    where = [r.account_id.in_(account_ids), r.day >= start, r.day < end]
    if user_email is not None:
        where.append(r.user_email == user_email)
    rows = await session.execute(
        select(r.account_id, r.key, r.agent_id, r.user_email, r.status, r.repository,
               r.pull_request_url, r.created_at, r.day, r.duration_ms, r.input_tokens,
               r.output_tokens, r.cache_read_tokens, r.cache_write_tokens, r.cost_cents_e6)
        .where(*where)
        .order_by(r.created_at, r.id)
    )  # fmt: skip
    return [
        Run(a, k, agent, u, s, repo, pr, at, _date(d), dur, _tokens(i, o, cr, cw), cost)
        for a, k, agent, u, s, repo, pr, at, d, dur, i, o, cr, cw, cost in rows.all()
    ]


async def latest_run_day(session: AsyncSession, account_id: str) -> dt.date | None:
    found = await session.scalar(
        select(func.max(AgentRun.day)).where(AgentRun.account_id == account_id)
    )
    return _date(found) if found is not None else None


async def activity(
    session: AsyncSession,
    account_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    kinds: Sequence[str],
) -> list[tuple[str, dt.date, bool, str, str, int]]:
    """``(account, day, for the team, kind, key, value)``: team rows (empty email) as they
    are, a person's rows summed per account, day, kind and key."""
    a = ActivityCount
    team = a.user_email == ""
    rows = await session.execute(
        select(a.account_id, a.day, team, a.kind, a.key, func.sum(a.value))
        .where(a.account_id.in_(account_ids), a.day >= start, a.day < end, a.kind.in_(kinds))
        .group_by(a.account_id, a.day, team, a.kind, a.key)
    )
    return [(acc, _date(d), bool(t), k, key, int(v or 0)) for acc, d, t, k, key, v in rows.all()]


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
