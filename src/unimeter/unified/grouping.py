"""The grouping statements of the unified API, built once per query shape.

Building a grouping statement and its cache key cost more Python time per request than
SQLite took to run it (≈540 ``coercions.expect`` calls a usage page). A statement here
depends only on a query's *shape* (grain, dimensions, which filters are present, the
connector's metrics, the dialect); every value (account, dates, lists) is a named bind
parameter, given per request by :func:`values`. A statement object is kept per shape, so
SQLAlchemy's memoized cache key and compiled form are reused and a request only binds.
The SQL text is the same as when the statements were built per request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import (
    Date,
    bindparam,
    case,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from unimeter.db import fact_activity
from unimeter.db.listed import in_listed
from unimeter.db.models import UsageFact
from unimeter.db.periods import bucket_start, period_expression

from .query import DIMENSIONS, UsageQuery

# Core columns: ORM attributes would add the ORM's per-execution result set-up for rows
# that are plain tuples anyway.
F = UsageFact.__table__.c
_EPOCH = dt.date(1970, 1, 1)
_MAX_SHAPES = 512

T = TypeVar("T")
_statements: dict[Hashable, Any] = {}


def cached(key: Hashable, build: Callable[[], T]) -> T:
    """The statement built for ``key``, built now if it is new (the few shapes a server
    meets stay; past ``_MAX_SHAPES`` the cache starts over rather than grow)."""
    stmt = _statements.get(key)
    if stmt is None:
        if len(_statements) >= _MAX_SHAPES:
            _statements.clear()
        stmt = _statements[key] = build()
    return stmt


def _present(values: tuple[Any, ...] | None) -> tuple[()] | None:
    return None if values is None else ()


def shape(q: UsageQuery) -> UsageQuery:
    """The query with its values blanked: what its statements' text depends on."""
    return replace(
        q, account_id="", start=_EPOCH, end=_EPOCH, emails=_present(q.emails),
        models=_present(q.models), surfaces=_present(q.surfaces), keys=_present(q.keys),
        groups=_present(q.groups), products=_present(q.products),
        records_version=None if q.records_version is None else 0,
    )  # fmt: skip


def values(q: UsageQuery, within_period: bool = False) -> dict[str, Any]:
    """The bind parameters of :func:`filters` and :func:`grouped_usage` (or, with
    ``within_period``, of :func:`period_page`) for ``q``."""
    params: dict[str, Any] = {"account": q.account_id, "start": q.start, "end": q.end}
    if within_period or _one_period(q):
        params["period_start"] = bucket_start(q.start, q.granularity)
    if q.keys is not None:
        days = [day for day, _ in q.keys]
        params.update(key_lo=min(days), key_hi=max(days), keys=list(q.keys),
                      key_users=sorted({user for _, user in q.keys}))  # fmt: skip
    if q.groups is not None:
        params["group_users"] = sorted({group[0] for group in q.groups})
        if "model" in q.dims:  # the user's column comes first, the model's next
            params["group_models"] = sorted({group[1] for group in q.groups})
        params["groups"] = list(q.groups)
    if q.records_version is not None:
        params["records_version"] = q.records_version
    for name in ("emails", "models", "surfaces", "products"):
        listed = getattr(q, name)
        if listed is not None:
            params[name] = list(listed)
    return params


def _in(name: str) -> Any:
    return bindparam(name, expanding=True)


def filters(q: UsageQuery, dialect: str = "", c: Any = F) -> list[Any]:
    """The WHERE of a query; ``dialect`` given when it is one that lists groups by user
    (and model), which an index in that order serves (see :func:`_unindexed`). ``c``: the
    columns of the table read, the facts' or (at the default grain) the fact-day rollups'."""
    if q.keys is not None:
        # Only the page's days and users, so the (account, user, day) index reads just their
        # facts, not every user's of those days (given two ranges on one column SQLite may
        # pick the wider); the pairs then keep exactly the keys.
        where = [c.account_id == bindparam("account"), c.day >= bindparam("key_lo"),
                 c.day <= bindparam("key_hi"), c.user_email.in_(_in("key_users")),
                 in_listed((c.day, c.user_email), "keys")]  # fmt: skip
    else:
        # ``+day`` to walk groups: without statistics SQLite prefers any index with the day
        # range, then sorts the whole period's facts; without one it walks the (user, model)
        # index in order and stops after the page's groups (42 ms → 11 ms for the keys of a
        # page of a month, measured in BENCHMARKS.md).
        walks_groups = dialect == "sqlite" and q.groups is None
        day = _unindexed(c.day) if walks_groups else c.day
        where = [
            c.account_id == bindparam("account"),
            day >= bindparam("start", type_=Date),
            day < bindparam("end", type_=Date),
        ]
    if q.groups is not None:
        # The users (and models) alone first: plain INs that the (account, user, day) and
        # (account, user, model, day) indexes seek on, with the day range as their last
        # column; the pairs then keep exactly the groups.
        where.append(c.user_email.in_(_in("group_users")))
        if "model" in q.dims:
            where.append(c.model.in_(_in("group_models")))
        where.append(in_listed(tuple(group_columns(q, c)), "groups"))
    if q.emails is not None:
        where.append(c.user_email.in_(_in("emails")))
    if q.models is not None:
        where.append(c.model.in_(_in("models")))
    if q.surfaces is not None:
        where.append(c.surface.in_(_in("surfaces")))
    if q.products is not None:
        where.append(c.product.in_(_in("products")))
    if not q.reads_day_totals:
        # ``+is_day_total`` once the groups are known: otherwise SQLite seeks the adoption
        # index (account, is_day_total, day) and reads every user's facts of the range.
        grouped = dialect == "sqlite" and q.groups is not None
        is_total = _unindexed(c.is_day_total) if grouped else c.is_day_total
        where.append(is_total.is_(False))
    return where


def _unindexed(column: Any) -> Any:
    """``+column``: the same value, which SQLite will not look up in an index."""
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def counts_as_active() -> Any:
    """Whether a fact makes its row active (a row of none is inactive and left out)."""
    return fact_activity.counts_as_active(F)


def _metric(q: UsageQuery, name: str) -> Any:
    column = F[name]
    if not q.reads_day_totals:
        return func.sum(column)
    from_totals = name in q.day_total_metrics
    # FILTER rather than a CASE inside the sum: the same rows summed (none: NULL), and
    # SQLite evaluates it a tenth faster over the ~30 metrics of a record.
    return func.sum(column).filter(F.is_day_total.is_(from_totals))


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _one_period(q: UsageQuery) -> bool:
    """Whether every row of ``q`` lies in one period: ``total`` (every day in one bucket
    dated at the range's start), or one period's page of groups (its range is the part of
    one week or month in the request's: see ``repository._period_by_period``)."""
    return q.granularity == "total" or q.groups is not None


def _period(dialect: str, q: UsageQuery, one_period: bool) -> Any:
    if one_period:
        # A bound constant: rows then group by their columns alone, in the order of the
        # index that found them, instead of being sorted by a computed bucket first (a page
        # of a month's groups summed in 1.9 ms instead of 2.7 on SQLite).
        return bindparam("period_start", type_=Date)
    return period_expression(dialect, F.day, q.granularity, q.start)


def grouped_usage(dialect: str, q: UsageQuery) -> Any:
    """One row per (period, user, model, surface[, product]) with every metric summed."""
    return _grouped(dialect, q).subquery("g")


def walks_period(dialect: str, q: UsageQuery) -> bool:
    """Whether a page of one period's groups is one statement (:func:`period_page`): on
    SQLite, for groups that an index holds in their order, (account, user[, model], day)."""
    return dialect == "sqlite" and q.dims in (("user",), ("user", "model")) and not q.by_product


def period_page(q: UsageQuery, after: list[Any] | None, limit: int) -> Any:
    """The first ``limit`` groups of one period (``q``'s range lies within it), after the
    cursor's ``after`` (bound: see :func:`bound_key`), with their sums: grouped in the
    index's order, so the scan stops after the page. Finding the page's groups first and
    summing them in a second statement seeked every group's facts twice (a page of a
    month's user x model groups: 3.8 ms of SQL, 2.8 in one)."""
    stmt = _grouped("sqlite", q, within_period=True)
    columns = group_columns(q)
    if after is not None:
        stmt = stmt.where(tuple_(*columns) > tuple_(*after))
    return stmt.order_by(*columns).limit(limit)


def _grouped(dialect: str, q: UsageQuery, within_period: bool = False) -> Any:
    one_period = within_period or _one_period(q)
    period = _period(dialect, q, one_period)
    columns = [
        (F.user_email if "user" in q.dims else None),
        (F.model if "model" in q.dims else None),
        (F.surface if "surface" in q.dims else None),
        (F.product if q.by_product else None),
    ]
    labels = ("user_key", "model_key", "surface_key", "product_key")
    keys = [period.label("period")] + [
        (literal("") if column is None else column).label(label)
        for column, label in zip(columns, labels, strict=True)
    ]
    # Grouped by the columns alone: with the constant keys too, SQLite sorted every row
    # into its group in a temporary tree. No column at all (the whole range as one record
    # of everyone): grouped by the constants, which yields no row when no fact matches.
    period_column = None if one_period else period  # else a bound constant
    grouped = [c for c in (period_column, *columns) if c is not None] or keys
    stmt = (
        select(
            *keys,
            *[_metric(q, name).label(name) for name in q.metrics],
            _count_if(F.is_active.is_(True)).label("active_days"),
            _count_if(fact_activity.used_in_detail(F)).label("detail_used"),
            _count_if(fact_activity.used_in_totals(F)).label("totals_used"),
            func.max(F.client_version).label("client_version"),
        )
        .where(*filters(q, dialect if within_period or q.groups is not None else ""))
        .group_by(*grouped)
    )
    if not q.include_inactive:
        stmt = stmt.having(_count_if(counts_as_active()) > 0)
    return stmt


def key_columns(q: UsageQuery, g: Any) -> list[Any]:
    """The natural key of a grouped row, in keyset order."""
    columns = [g.c.period, g.c.user_key, g.c.model_key, g.c.surface_key]
    return [*columns, g.c.product_key] if q.by_product else columns


def group_columns(q: UsageQuery, c: Any = F) -> list[Any]:
    """The fact columns that name a group within its period, in keyset order."""
    named = zip(DIMENSIONS, (c.user_email, c.model, c.surface), strict=True)
    columns = [column for dim, column in named if dim in q.dims]
    return [*columns, c.product] if q.by_product else columns


def bound_key(prefix: str, key: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """A cursor's key as bind parameters (typed from its values, as literals would be) and
    their values; the statement's shape must then include the values' types."""
    names = [f"{prefix}{i}" for i in range(len(key))]
    return [bindparam(n, v) for n, v in zip(names, key, strict=True)], dict(
        zip(names, key, strict=True)
    )


def key_types(key: list[Any] | None) -> tuple[type, ...] | None:
    return None if key is None else tuple(type(v) for v in key)
