"""SQL of consumption: tokens and cost by user, model and period, from the rollups.

By month or in total, calendar months come from the monthly rollups (a few rows per member
and model) and only a few days around them from the daily ones (see ``Plan``). Days split
by model come from the detail usage facts (``facts_sql``), summed over product and surface.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, and_, false, func, literal, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import IntegratedAccount, UserDayRollup, UserModelMonthRollup
from unimeter.db.periods import bucket_start, period_expression, period_spans
from unimeter.sync.store.rollups_repository import NARROW_SUMS, next_month

from . import facts_sql

CONSUMPTION_METRICS = NARROW_SUMS


@dataclass(frozen=True, slots=True)
class ConsumptionQuery:
    account_ids: tuple[str, ...]
    start: dt.date  # inclusive
    end: dt.date  # exclusive
    by_user: bool
    by_model: bool
    granularity: str  # day, week, month or total
    emails: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    # Only these products (tools); and a row per product (a scope may hold several).
    products: tuple[str, ...] | None = None
    by_product: bool = False


# A group: (account, user, model, product), "" for a dimension not grouped by.
Groups = Sequence[tuple[str, str, str, str]]
NAMES = ("account_id", "user_email", "model", "product")


@dataclass(frozen=True, slots=True)
class Plan:
    """Where a range's usage is read from: calendar months ``[first, last)`` from the
    monthly rollups, ``added`` day spans from the daily ones, and ``taken`` day spans
    subtracted, where a month is read whole less the few days outside the range. Every
    rollup row counts at least one request, token or charge, so a group is in the range
    exactly when one of its net sums is not zero (see ``_in_range``)."""

    months: tuple[dt.date, dt.date] | None
    added: list[tuple[dt.date, dt.date]]
    taken: list[tuple[dt.date, dt.date]]


def plan(q: ConsumptionQuery) -> Plan:
    # A week or a day cannot be read from a month.
    if q.granularity not in ("month", "total"):
        return Plan(None, [(q.start, q.end)], [])
    read: list[dt.date] = []
    added: list[tuple[dt.date, dt.date]] = []
    taken: list[tuple[dt.date, dt.date]] = []
    month = q.start.replace(day=1)
    while month < q.end:
        after = next_month(month)
        low, high = max(q.start, month), min(q.end, after)
        outside = (after - month).days - (high - low).days
        if outside >= (high - low).days:
            added.append((low, high))
        else:
            read.append(month)
            taken += [(a, b) for a, b in ((month, low), (high, after)) if a < b]
        month = after
    months = (read[0], next_month(read[-1])) if read else None
    return Plan(months, added, taken)


def _filters(q: ConsumptionQuery, table: Any, groups: Groups | None) -> list[Any]:
    where = [table.account_id.in_(q.account_ids)]
    if q.emails is not None:
        where.append(table.user_email.in_(q.emails))
    if q.models is not None:
        where.append(table.model.in_(q.models))
    if q.products is not None:
        where.append(table.product.in_(q.products))
    if groups is not None:
        where.append(_in_groups(q, table, groups))
    return where


def _in_groups(q: ConsumptionQuery, table: Any, groups: Groups) -> Any:
    if not groups:
        return false()
    chosen = [n for n, on in zip(NAMES, _dims(q), strict=True) if on] or ["model"]
    if len(chosen) == 1:
        at = NAMES.index(chosen[0])
        return getattr(table, chosen[0]).in_([g[at] for g in groups])
    columns = [getattr(table, n) for n in chosen]
    places = [NAMES.index(n) for n in chosen]
    return tuple_(*columns).in_([tuple(g[i] for i in places) for g in groups])


def _dims(q: ConsumptionQuery) -> tuple[bool, bool, bool, bool]:
    """Whether each of ``NAMES`` is a dimension of the answer."""
    return (q.by_user, q.by_user, q.by_model, q.by_product)


def _source(q: ConsumptionQuery, groups: Groups | None = None) -> Any:
    """``(day, account_id, user_email, model, *metrics)`` rows that add up to the range,
    where ``day`` is a month's first day for rows of a month (see ``Plan``)."""
    chosen = plan(q)
    parts = [
        part
        for spans, sign in ((chosen.added, 1), (chosen.taken, -1))
        if spans
        for part in _days(q, groups, spans, sign)
    ]
    if chosen.months is not None:
        m, (first, last) = UserModelMonthRollup, chosen.months
        parts.append(
            select(m.month.label("day"), m.account_id, m.user_email, m.model, m.product,
                   *[getattr(m, name) for name in CONSUMPTION_METRICS])
            .where(m.month >= first, m.month < last, *_filters(q, m, groups))
        )  # fmt: skip
    return union_all(*parts).subquery("usage") if len(parts) > 1 else parts[0].subquery("usage")


def _days(
    q: ConsumptionQuery, groups: Groups | None, spans: list[tuple[dt.date, dt.date]], sign: int
) -> list[Any]:
    """The days of these spans, their metrics times ``sign``: per-user-day rollups when the
    model does not matter (a seventh of the rows), else the detail facts.

    By month or in total each span lies in one period (``plan`` cuts them at months), so
    each is summed per group on its own, dated by its first day: the answer's grouping then
    sorts a few rows a group instead of every day's (207 → 173 ms for 90 days by user,
    model and month of the 1,000-member team, BENCHMARKS.md part 11)."""
    by_model = q.by_model or q.models is not None
    daily: Any = facts_sql.FACT if by_model else UserDayRollup
    model = daily.model if by_model else literal("")
    columns = facts_sql.consumption_columns() if by_model else {
        name: getattr(daily, name) for name in CONSUMPTION_METRICS
    }  # fmt: skip
    where = [*_filters(q, daily, groups), *([facts_sql.DETAIL] if by_model else [])]
    keys = [daily.account_id, daily.user_email, model.label("model"), daily.product]
    if q.granularity not in ("month", "total"):
        metrics = [(columns[name] * sign).label(name) for name in CONSUMPTION_METRICS]
        in_spans = or_(*[(daily.day >= low) & (daily.day < high) for low, high in spans])
        return [select(daily.day.label("day"), *keys, *metrics).where(in_spans, *where)]
    sums = [(func.sum(columns[name]) * sign).label(name) for name in CONSUMPTION_METRICS]
    # Only the answer's dimensions: a span of a team's days by model is a few groups, not
    # one per member and model.
    kept = _dimension_columns(q, keys)
    # (By account when there is none: a span with no rows then gives no row, not one of
    # NULL sums.)
    grouped = [c for c, on in zip(keys, _dims(q), strict=True) if on] or [daily.account_id]
    return [
        select(literal(low, Date).label("day"), *kept, *sums)
        .where(daily.day >= low, daily.day < high, *where)
        .group_by(*grouped)
        for low, high in spans
    ]


def _in_range(s: Any) -> Any:
    """A group has usage in the range: net requests, tokens or charges (a vendor may report
    any of them alone; for one that counts requests, a group with none has neither)."""
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return or_(
        func.sum(s.c.events) > 0,
        *[func.sum(s.c[name]) > 0 for name in tokens],
        func.sum(s.c.charged_cents_e6) != 0,
    )


def _group_columns(q: ConsumptionQuery, s: Any) -> list[Any]:
    return _dimension_columns(q, [s.c[name] for name in NAMES])


def _dimension_columns(q: ConsumptionQuery, columns: Sequence[Any]) -> list[Any]:
    """``columns`` (one per ``NAMES``), each replaced by "" where it is no dimension of the
    answer."""
    return [
        column if on else literal("").label(name)
        for column, name, on in zip(columns, NAMES, _dims(q), strict=True)
    ]


def _grouped(dialect: str, q: ConsumptionQuery, groups: Groups | None) -> tuple[Any, list[Any]]:
    """The statement of ``(period, account, user, model, product, *metrics)`` per group, and
    its key (the product only when grouped by it, so cursors of the other answers keep
    their shape)."""
    s = _source(q, groups)
    period = period_expression(dialect, s.c.day, q.granularity, q.start).label("period")
    columns = _group_columns(q, s)
    key = [period, *(columns if q.by_product else columns[:3])]
    sums = [func.sum(s.c[name]).label(name) for name in CONSUMPTION_METRICS]
    return select(period, *columns, *sums).group_by(period, *columns).having(_in_range(s)), key


async def consumption(
    session: AsyncSession,
    q: ConsumptionQuery,
    *,
    limit: int,
    after: Sequence[Any] | None = None,
    groups: Groups | None = None,
    in_runs: bool = True,
) -> list[tuple[Any, ...]]:
    """One page (``limit + 1`` rows) of ``(period, account, user, model, product, *metrics)`` after
    ``after``, in key order; with ``groups`` (the top N, costliest first) only those groups,
    each period's costliest first: the keyset is then ``(period, rank)``. ``in_runs``: read
    runs of periods until the page is full (see ``_spans_of_page``), not the whole range in
    one statement (best when every page will be read anyway)."""
    if groups is not None:
        stmt, _ = _grouped(session.get_bind().dialect.name, q, groups)
        return await _ranked_page(session, q, stmt, len(groups), limit=limit, after=after)
    rows: list[tuple[Any, ...]] = []
    for span in _spans_of_page(q, after) if in_runs else [q]:
        rows += await _page_of(session, span, limit=limit + 1 - len(rows), after=after)
        if len(rows) > limit:
            break
    return rows


def _spans_of_page(q: ConsumptionQuery, after: Sequence[Any] | None) -> Iterator[ConsumptionQuery]:
    """The query cut into runs of whole periods, from the cursor's period on, each run twice
    as long as the one before. The page is ordered by period first, so it is filled by the
    first periods it reads: a page of a large team's quarter by month reads its first month,
    not the whole quarter (whose every group was summed and sorted for each page), and a
    small team's still needs only a few statements."""
    spans = period_spans(q.start, q.end, q.granularity)
    if after is not None:
        period: dt.date = after[0]  # a date again (``service.cursor_key``)
        spans = [s for s in spans if bucket_start(s[0], q.granularity) >= period]
    width = 1
    while spans:
        run, spans = spans[:width], spans[width:]
        yield dataclasses.replace(q, start=run[0][0], end=run[-1][1])
        width *= 2


async def _page_of(
    session: AsyncSession, q: ConsumptionQuery, *, limit: int, after: Sequence[Any] | None
) -> list[tuple[Any, ...]]:
    stmt, key = _grouped(session.get_bind().dialect.name, q, None)
    # Ordered as grouped, with the keyset in HAVING: one sort, not a second over the groups.
    if after is not None:
        stmt = stmt.having(tuple_(*key) > tuple_(*after))
    stmt = stmt.order_by(*key).limit(limit)
    return [tuple(row) for row in (await session.execute(stmt)).all()]


async def _ranked_page(
    session: AsyncSession,
    q: ConsumptionQuery,
    grouped: Any,
    top: int,
    *,
    limit: int,
    after: Sequence[Any] | None,
) -> list[tuple[Any, ...]]:
    """The grouped rows joined to their group's rank, ordered by ``(period, rank)``. A join,
    not a CASE over the N groups, which costs N comparisons a row: for 1,000 users by day
    over 90 days, 8 s against 1 s for the join (SQLite, in memory)."""
    g, r = grouped.subquery("grouped"), _ranking(q, top).subquery("ranked")
    key = [g.c.period, r.c.rank]
    stmt = select(*g.c).join_from(g, r, and_(*(g.c[n] == r.c[n] for n in NAMES)))
    if after is not None:
        stmt = stmt.where(tuple_(*key) > tuple_(*after))
    stmt = stmt.order_by(*key).limit(limit + 1)
    return [tuple(row) for row in (await session.execute(stmt)).all()]


async def every_group(session: AsyncSession, q: ConsumptionQuery) -> list[tuple[Any, ...]]:
    """Every ``(period, account, user, model, product, *metrics)`` of the query, in no
    order."""
    stmt, _ = _grouped(session.get_bind().dialect.name, q, None)
    return [tuple(row) for row in (await session.execute(stmt)).all()]


async def top_groups(
    session: AsyncSession, q: ConsumptionQuery, limit: int
) -> list[tuple[str, str, str, str]]:
    """The ``limit`` groups with the highest charged cost over the whole range, costliest
    first."""
    rows = (await session.execute(_ranking(q, limit))).all()
    return [(a, u, m, p) for a, u, m, p, _ in rows]


def _ranking(q: ConsumptionQuery, limit: int) -> Any:
    """``(account, user, model, product, rank)`` of the ``limit`` groups with the highest charged cost
    over the whole range, rank 1 the costliest (ties by tokens, then by name, so the choice
    and the ranks are stable)."""
    s = _source(dataclasses.replace(q, granularity="total"))
    keys = _group_columns(q, s)
    cost = func.sum(s.c.charged_cents_e6)
    tokens = func.sum(
        s.c.input_tokens + s.c.output_tokens + s.c.cache_read_tokens + s.c.cache_write_tokens
    )
    order = (cost.desc(), tokens.desc(), *keys)
    rank = func.row_number().over(order_by=order).label("rank")
    return select(*keys, rank).group_by(*keys).having(_in_range(s)).order_by(*order).limit(limit)


async def consumption_totals(
    session: AsyncSession, q: ConsumptionQuery, groups: Groups | None = None
) -> tuple[int, ...]:
    # Totals do not depend on the periods, nor (without groups) on the model: read the
    # fewest, narrowest rows.
    q = dataclasses.replace(q, granularity="total", by_model=q.by_model and groups is not None)
    s = _source(q, groups)
    sums = [func.coalesce(func.sum(s.c[name]), 0) for name in CONSUMPTION_METRICS]
    row = (await session.execute(select(*sums))).one()
    return tuple(int(v) for v in row)


async def integrations(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, str]:
    """The integration (vendor slug) of each account."""
    stmt = select(IntegratedAccount.id, IntegratedAccount.integration).where(
        IntegratedAccount.id.in_(list(account_ids))
    )
    return {str(account): str(slug) for account, slug in (await session.execute(stmt)).all()}
