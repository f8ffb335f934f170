"""SQL of the adoption scorecards: per person, the days marked active and the activity
metrics summed from the usage facts, the days with usage, the roster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import Member, UsageFact, UserDayRollup
from unimeter.db.models.facts import ADOPTION_INDEXED
from unimeter.db.periods import day_list, parse_day_list

from .repository import SeatHolder

# The activity metrics the scorecards sum: completions, edits and requests by feature (the
# usage facts' adoption index covers exactly these).
ADOPTION_METRICS = ADOPTION_INDEXED


# A metric no fact of the query reports (typed: PostgreSQL cannot sum an untyped NULL).
_UNKNOWN = cast(null(), BigInteger)


def _from_totals(name: str, listed: Sequence[str], account_ids: Sequence[str]) -> Any:
    """Over day totals: the metric of the accounts whose vendor reports it there."""
    column = getattr(UsageFact, name)
    if set(account_ids) <= set(listed):
        return column
    return case((UsageFact.account_id.in_(listed), column)) if listed else _UNKNOWN


def _from_detail(name: str, listed: Sequence[str]) -> Any:
    """Over detail facts: the metric of the accounts whose day totals do not report it (the
    two may overlap, so an unsplit answer never adds them)."""
    column = getattr(UsageFact, name)
    return case((UsageFact.account_id.not_in(listed), column)) if listed else column


async def member_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date,
    day_totals: Mapping[str, Sequence[str]], products: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:  # fmt: skip
    """``(account, email, active days, *sums, reported)`` rows: the days a fact marks active,
    each of ``ADOPTION_METRICS`` summed, and how many facts report any of them (0: the
    vendor reports none, unknown rather than zero). ``day_totals`` maps a metric to the accounts
    whose vendor reports it in day totals. A person may have several rows (day totals,
    detail facts): the caller adds them up.

    Day totals and detail facts are read apart, each through an index of its own kind:
    detail facts are most of the table, and an account whose day totals report every
    metric needs from them only the days they mark active (an index probe)."""
    listed = [day_totals.get(name, ()) for name in ADOPTION_METRICS]
    totals = [
        _from_totals(n, a, account_ids) for n, a in zip(ADOPTION_METRICS, listed, strict=True)
    ]
    rows = await _member_days(session, account_ids, start, end, True, totals, products=products)
    # Accounts with a metric their day totals do not report read their detail facts whole.
    detailed = [a for a in account_ids if any(a not in accounts for accounts in listed)]
    if detailed:
        details = [_from_detail(n, a) for n, a in zip(ADOPTION_METRICS, listed, strict=True)]
        rows += await _member_days(session, detailed, start, end, False, details, products=products)
    others = [a for a in account_ids if a not in detailed]
    if others:
        unknown = [_UNKNOWN] * len(ADOPTION_METRICS)
        rows += await _member_days(
            session, others, start, end, False, unknown, active=True, products=products
        )
    return rows


async def _member_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date,
    day_total: bool, metrics: Sequence[Any], *, active: bool = False,
    products: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:  # fmt: skip
    """One kind of fact (``day_total``), grouped per person; ``active``: only facts marking
    their day active; ``products``: only facts of these products."""
    f = UsageFact
    key = (f.account_id, f.user_email)
    where = [f.is_day_total.is_(day_total), f.account_id.in_(account_ids), f.user_email != ""]
    if products is not None:
        where.append(f.product.in_(products))
    in_period = and_(f.day >= start, f.day < end)
    if active:
        # An equality probe of the activity index (account, kind, active) finds these few
        # facts. With the period in WHERE, SQLite (without statistics) prefers the day
        # range of the adoption index instead: a scan of every detail fact of the period.
        where.append(f.is_active.is_(True))
        marked = and_(f.is_active.is_(True), in_period)
    else:
        where.append(in_period)
        marked = f.is_active.is_(True)
    dialect = session.get_bind().dialect.name
    # One count of the facts reporting any metric, not one per metric: the answer only asks
    # whether any is reported, and nine counts were a third of the statement (49 → 32 ms for
    # 30 days of a 1,000-member team's day totals).
    reported = func.count(func.coalesce(*metrics))
    stmt = (
        select(*key, day_list(dialect, f.day, marked), *[func.sum(m) for m in metrics], reported)
        .where(*where)
        .group_by(*key)
    )  # fmt: skip
    if active:
        stmt = stmt.having(func.count(case((in_period, 1))) > 0)
    rows = await session.execute(stmt)
    return [(a, e, parse_day_list(days), *v) for a, e, days, *v in rows.all()]


async def event_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date,
    products: Sequence[str] | None = None,
) -> list[tuple[str, str, set[dt.date]]]:  # fmt: skip
    """``(account, user, days)``: the days each user has usage (of ``products``, if given)."""
    r = UserDayRollup
    dialect = session.get_bind().dialect.name
    only = [r.product.in_(products)] if products is not None else []
    rows = await session.execute(
        select(r.account_id, r.user_email, day_list(dialect, r.day))
        .where(r.account_id.in_(account_ids), r.user_email != "", r.day >= start, r.day < end,
               *only)
        .group_by(r.account_id, r.user_email)
    )  # fmt: skip
    return [(a, u, parse_day_list(days)) for a, u, days in rows.all()]


async def members_during(
    session: AsyncSession, account_ids: Sequence[str], start_ms: int
) -> list[SeatHolder]:
    """Members who held a seat at some point since ``start_ms``: current ones, and those
    removed after it."""
    m = Member
    rows = await session.execute(
        select(m.account_id, m.id, m.remote_id, m.email, m.name, m.role)
        .where(
            m.account_id.in_(account_ids),
            (m.is_removed.is_(False)) | (m.removed_at >= start_ms),
        )
        .order_by(m.account_id, m.email, m.id)
    )
    return [SeatHolder(*row) for row in rows.all()]
