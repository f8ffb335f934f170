"""The ``committed`` and ``agents`` usage groups: what a person committed (lines by origin)
and the cloud-agent runs they launched in a record's period, for an account whose
connector has a stream providing ``commits`` / ``agent_runs``.

Only records not split by model, surface or product carry them (a commit has no model, and
summing it into each of a person's model rows would count it several times); a record of
everyone (not split by user) carries everyone's. Emails compare case-insensitively.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Date, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import direct
from unimeter.db.models import AgentRun, commit_days

from .query import UsageQuery

COMMITTED = ("commits", "lines_added", "tab_lines_added", "agent_lines_added",
             "human_lines_added")  # fmt: skip
Sums = dict[tuple[dt.date, str], list[int | None]]
# Per email (None: everyone), its days in order and each day's sums.
ByEmail = dict[str | None, tuple[list[dt.date], list[list[int | None]]]]


def applies(q: UsageQuery) -> bool:
    return "model" not in q.dims and "surface" not in q.dims and not q.by_product


def _commits_statement(of_users: bool) -> Any:
    """The commits of the range per (day, lowercased email), from the sync's rollups."""
    d = commit_days.c
    start, end = bindparam("start", type_=Date), bindparam("end", type_=Date)
    stmt = select(
        d.day, d.user_email, d.commits, d.lines_added, d.completion_lines_added,
        d.agent_lines_added, d.human_lines_added,
    ).where(d.account_id == bindparam("account"), d.day >= start, d.day < end)  # fmt: skip
    # A page of users reads their rows only, not everyone's of the same days.
    return stmt.where(d.user_email.in_(bindparam("emails", expanding=True))) if of_users else stmt


def _runs_statement(of_users: bool) -> Any:
    r = AgentRun.__table__.c
    email = func.lower(r.user_email)
    start, end = bindparam("start", type_=Date), bindparam("end", type_=Date)
    stmt = (
        select(r.day, email, func.count())
        .where(r.account_id == bindparam("account"), r.day >= start, r.day < end,
               r.user_email.is_not(None), r.created_at >= bindparam("start_ms"),
               r.created_at < bindparam("end_ms"))  # as for commits
        .group_by(r.day, email)
    )  # fmt: skip
    return stmt.where(email.in_(bindparam("emails", expanding=True))) if of_users else stmt


# Built once: a request only binds its values. Keyed by "only some users' rows".
_COMMITS = {of_users: _commits_statement(of_users) for of_users in (False, True)}
_RUNS = {of_users: _runs_statement(of_users) for of_users in (False, True)}


def _range(
    account_id: str, start: dt.date, end: dt.date, emails: list[str] | None
) -> dict[str, Any]:
    values = {"account": account_id, "start": start, "end": end,
              "start_ms": _ms(start), "end_ms": _ms(end)}  # fmt: skip
    return values if emails is None else {**values, "emails": emails}


async def _commits(
    session: AsyncSession, account_id: str, start: dt.date, end: dt.date, emails: list[str] | None
) -> Sums:
    stmt = _COMMITS[emails is not None]
    rows = await direct.rows(session, stmt, _range(account_id, start, end, emails))
    return {
        (_date(d), str(e)): [int(v) if v is not None else None for v in values]
        for d, e, *values in rows
    }


async def _runs(
    session: AsyncSession, account_id: str, start: dt.date, end: dt.date, emails: list[str] | None
) -> Sums:
    stmt = _RUNS[emails is not None]
    rows = await direct.rows(session, stmt, _range(account_id, start, end, emails))
    return {(_date(d), str(e)): [int(n)] for d, e, n in rows}


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


def _add(total: list[int | None] | None, values: list[int | None]) -> list[int | None]:
    """Column sums where an unknown (None) stays unknown only while every value is."""
    if total is None:
        return list(values)
    return [
        b if a is None else a if b is None else a + b for a, b in zip(total, values, strict=True)
    ]


def _by_email(sums: Sums, by_user: bool) -> ByEmail:
    """Each email's days in order (or, for records of everyone, everyone's under None), so
    that a record's period is found by bisection: a page of 100 daily records used to walk
    every day of its user for each of them."""
    out: ByEmail = defaultdict(lambda: ([], []))
    for (day, email), values in sorted(sums.items()):
        days, sums_of_days = out[email if by_user else None]
        if days and days[-1] == day:
            sums_of_days[-1] = _add(sums_of_days[-1], values)
            continue
        days.append(day)
        sums_of_days.append(values)
    return out


def _sum(sums: ByEmail, start: dt.date, end: dt.date, user: str | None) -> list[int | None] | None:
    found = sums.get(user)
    if found is None:
        return None
    days, sums_of_days = found
    total: list[int | None] | None = None
    for i in range(bisect_left(days, start), bisect_left(days, end)):
        total = _add(total, sums_of_days[i])
    return total


async def attach(
    session: AsyncSession, q: UsageQuery, periods: Sequence[tuple[dt.date, dt.date, str]],
    records: list[dict[str, Any]], *, commits: bool, runs: bool,
) -> None:  # fmt: skip
    """Add the groups to ``records``, one per ``(start, end, user key)`` of ``periods``."""
    if not periods or not applies(q) or not (commits or runs):
        return
    first, last = min(p[0] for p in periods), max(p[1] for p in periods)
    by_user = "user" in q.dims
    emails = sorted({p[2].lower() for p in periods}) if by_user else None
    commit_sums = await _commits(session, q.account_id, first, last, emails) if commits else {}
    run_sums = await _runs(session, q.account_id, first, last, emails) if runs else {}
    if by_user and q.granularity == "day":
        # A record is one (day, user): its sums are one entry each, found directly.
        find_commits, find_runs = _on_the_day(commit_sums), _on_the_day(run_sums)
    else:
        find_commits = _in_the_period(_by_email(commit_sums, by_user))
        find_runs = _in_the_period(_by_email(run_sums, by_user))
    for (start, end, user), record in zip(periods, records, strict=True):
        who = user.lower() if by_user else None
        usage = record["usage"]
        if commits:
            values = find_commits(start, end, who) or [0, 0, 0, 0, None]
            usage["committed"] = dict(zip(COMMITTED, values, strict=True))
        if runs:
            usage["agents"] = {"runs": (find_runs(start, end, who) or [0])[0]}


Find = Callable[[dt.date, dt.date, str | None], list[int | None] | None]


def _on_the_day(sums: Sums) -> Find:
    return lambda start, _end, user: sums.get((start, user or ""))


def _in_the_period(sums: ByEmail) -> Find:
    return lambda start, end, user: _sum(sums, start, end, user)


def _date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
