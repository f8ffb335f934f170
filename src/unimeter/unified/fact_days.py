"""Usage at the default (user, day) grain, summed from the fact-day rollups.

A record of that grain sums its user's facts of the day over every model and surface:
about eight facts of some thirty metrics each, which was most of a usage page's SQL. The
sync keeps those facts summed per (user, product, day, kind) in ``usage_fact_days``
(:mod:`unimeter.sync.store.rollups_repository`), so a page sums about two rows a record
instead. The statements here return exactly the columns of :func:`.grouping.grouped_usage`
(the same values: tests/unified/test_fact_days.py compares the two on both backends), with
the same WHERE and bind parameters (:func:`.grouping.filters` over these columns).

A day waits for its rollups between a sync writing its facts and the end of that run; while
any day of a query's range does, the query sums the facts themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, and_, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import direct
from unimeter.db.models import RollupDirtyDay, usage_day_records, usage_fact_days, usage_user_days
from unimeter.db.models.rollups import in_detail, in_totals
from unimeter.db.periods import period_expression

from . import grouping
from .query import UsageQuery

D = usage_fact_days.c
U = usage_user_days.c
R = usage_day_records.c
_R = RollupDirtyDay.__table__.c

_WAITING = (
    select(_R.day)
    .where(
        _R.account_id == bindparam("account"),
        _R.day >= bindparam("start", type_=Date),
        _R.day < bindparam("end", type_=Date),
    )
    .limit(1)
)


def serves(q: UsageQuery) -> bool:
    """Whether the rollups hold ``q``'s answer: records per user and day, over every model
    and surface (a model or surface filter leaves the day totals out; the rollups mix them)."""
    return (
        q.granularity == "day"
        and q.dims == ("user",)
        and q.models is None
        and q.surfaces is None
        and q.products is None
    )


def merged(q: UsageQuery) -> bool:
    """Whether each record is one row of the user-day rollups as it is: records that do not
    split by product (a vendor with one product), which those rows sum over."""
    return serves(q) and not q.by_product


async def ready(session: AsyncSession, q: UsageQuery) -> bool:
    """No day of ``q``'s range waits for its rollups to be rebuilt."""
    params = {"account": q.account_id, "start": q.start, "end": q.end}
    return not await direct.rows(session, _WAITING, params)


def counts_as_active(c: Any = D) -> Any:
    """A (user, day) with a fact that makes its record active (``c``: the columns of the
    fact-day or the user-day rollups)."""
    return c.counted_facts > 0


def grouped_usage(dialect: str, q: UsageQuery) -> Any:
    """One row per (day, user[, product]), as :func:`.grouping.grouped_usage` returns it."""
    period = period_expression(dialect, D.day, q.granularity, q.start).label("period")
    product = (D.product if q.by_product else literal("")).label("product_key")
    keys = [period, D.user_email.label("user_key"), literal("").label("model_key"),
            literal("").label("surface_key"), product]  # fmt: skip
    # Grouped by the columns alone: with the constant keys too, SQLite sorted the rows into
    # groups in a temporary tree instead of taking them in the primary key's order.
    grouped = [period, D.user_email, *([D.product] if q.by_product else [])]
    metrics = [
        func.sum(D[name]).filter(D.is_day_total.is_(name in q.day_total_metrics)).label(name)
        for name in q.metrics
    ]
    stmt = (
        select(
            *keys,
            *metrics,
            func.sum(D.active_facts).label("active_days"),
            func.sum(D.detail_used).label("detail_used"),
            func.sum(D.totals_used).label("totals_used"),
            func.max(D.client_version).label("client_version"),
        )
        .where(*grouping.filters(q, c=D))
        .group_by(*grouped)
    )
    if not q.include_inactive:
        stmt = stmt.having(func.sum(D.counted_facts) > 0)
    return stmt.subquery("g")


def user_day_usage(dialect: str, q: UsageQuery) -> Any:
    """As :func:`grouped_usage` for a query :func:`merged` serves: each row of the user-day
    rollups as it is, with each metric from the kind of facts the profile names."""
    period = period_expression(dialect, U.day, q.granularity, q.start).label("period")
    keys = [period, U.user_email.label("user_key"), literal("").label("model_key"),
            literal("").label("surface_key"), literal("").label("product_key")]  # fmt: skip
    metrics = [
        U[in_totals(name) if name in q.day_total_metrics else in_detail(name)].label(name)
        for name in q.metrics
    ]
    stmt = select(
        *keys,
        *metrics,
        U.active_facts.label("active_days"),
        U.detail_used,
        U.totals_used,
        U.client_version,
    ).where(*grouping.filters(q, c=U))
    if q.records_version is not None:
        # Each row's key and stored record, when it is of the reader's version (a lookup by
        # the primary key the two tables share). Not the metrics, which the record shows:
        # turning some seventy columns a row into Python values was half the statement.
        stored = and_(
            R.account_id == U.account_id, R.day == U.day, R.user_email == U.user_email,
            R.version == bindparam("records_version"),
        )  # fmt: skip
        stmt = stmt.with_only_columns(*keys, R.record).select_from(
            usage_user_days.outerjoin(usage_day_records, stored)
        )
    if not q.include_inactive:
        stmt = stmt.where(counts_as_active(U))
    return stmt.subquery("g")
