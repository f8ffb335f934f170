"""SQL of the unified API: users, and usage grouped from the usage facts.

Usage rows are grouped in SQL and paged by keyset over their natural key
``(period, user, model, surface[, product])``, which a sync never rewrites. Split by model
or surface, a row sums detail facts only; unsplit, each metric comes from the day totals
when the connector lists it among its day-total metrics, and from the detail facts
otherwise (the two may overlap: see :mod:`unimeter.connectors.facts`). The only dialect
differences (week and month buckets) live in :func:`unimeter.db.periods.period_expression`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Date, and_, case, func, literal, null, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from unimeter.connectors.facts import METRICS
from unimeter.db import keyset
from unimeter.db.models import (
    DailyUsage,
    Member,
    UsageEvent,
    UsageFact,
)
from unimeter.db.periods import period_expression
from unimeter.kit.cursors import Position

DIMENSIONS = ("user", "model", "surface")
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


@dataclass(frozen=True, slots=True)
class UsageQuery:
    account_id: str
    start: dt.date  # inclusive
    end: dt.date  # exclusive
    dims: tuple[str, ...]
    granularity: str
    emails: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    surfaces: tuple[str, ...] | None = None
    include_inactive: bool = False
    # When set, only these (day, user) pairs (the default grain's keyset page).
    keys: tuple[tuple[dt.date, str], ...] | None = None
    # When set, only these groups: values of :func:`group_columns` (one period's page).
    groups: tuple[tuple[str, ...], ...] | None = None
    # The metrics the account's connector reports in its detail facts and in its day totals.
    detail_metrics: frozenset[str] = frozenset(METRICS)
    day_total_metrics: frozenset[str] = frozenset()
    # Rows split by product too (a vendor with several products), optionally only these.
    by_product: bool = False
    products: tuple[str, ...] | None = None

    @property
    def with_day_totals(self) -> bool:
        """Day totals (per user and day) join in unless rows split by model or surface."""
        return "model" not in self.dims and "surface" not in self.dims

    @property
    def reads_day_totals(self) -> bool:
        """Day totals have neither model nor surface: a split or a filter on either leaves
        them out."""
        return self.with_day_totals and self.models is None and self.surfaces is None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics a row of this query can know, in canonical order."""
        known = self.detail_metrics | (self.day_total_metrics if self.reads_day_totals else set())
        return tuple(m for m in METRICS if m in known)


def _filters(q: UsageQuery, dialect: str = "") -> list[Any]:
    """The WHERE of a query; ``dialect`` given when it is one that lists groups by user
    (and model), which an index in that order serves (see :func:`_by_user_order`)."""
    f = UsageFact
    if q.keys is not None:
        # Only the page's days, so the (account, day, ...) index narrows the scan (given two
        # ranges on one column SQLite may pick the wider); the pairs then keep exactly the keys.
        days = [day for day, _ in q.keys]
        where = [f.account_id == q.account_id, f.day >= min(days), f.day <= max(days)]
        where.append(tuple_(f.day, f.user_email).in_(list(q.keys)))
    else:
        day = _by_user_order(f.day) if dialect == "sqlite" else f.day
        where = [f.account_id == q.account_id, day >= q.start, day < q.end]
    if q.groups is not None:
        # The users alone first: a plain IN the (account, user, day) index can seek on.
        where.append(f.user_email.in_(sorted({group[0] for group in q.groups})))
        where.append(tuple_(*group_columns(q)).in_(list(q.groups)))
    if q.emails is not None:
        where.append(f.user_email.in_(q.emails))
    if q.models is not None:
        where.append(f.model.in_(q.models))
    if q.surfaces is not None:
        where.append(f.surface.in_(q.surfaces))
    if q.products is not None:
        where.append(f.product.in_(q.products))
    if not q.reads_day_totals:
        where.append(f.is_day_total.is_(False))
    return where


def _by_user_order(day: Any) -> Any:
    """``+day``: the same day, which SQLite cannot look up in an index. Without statistics
    it prefers any index with the day range, then sorts the whole period's facts; without
    one it walks the (user, model) index in order and stops after the page's groups (42 ms
    → 11 ms for the keys of a page of a month, measured in BENCHMARKS.md)."""
    return UnaryExpression(day, operator=custom_op("+"), type_=Date)


def _positive(column: Any) -> Any:
    return func.coalesce(column, 0) > 0


def _used_in_detail() -> Any:
    """A detail fact that records usage: requests, tokens or money."""
    f = UsageFact
    return and_(
        f.is_day_total.is_(False),
        or_(_positive(f.requests), _positive(f.cost_cents_e6),
            *[_positive(getattr(f, name)) for name in _TOKENS]),
    )  # fmt: skip


def _used_in_totals() -> Any:
    f = UsageFact
    return and_(f.is_day_total.is_(True), _positive(f.requests))


def _counts_as_active() -> Any:
    """Whether a fact makes its row active (a row of none is inactive and left out)."""
    return or_(UsageFact.is_active.is_(True), _used_in_detail(), _used_in_totals())


def _metric(q: UsageQuery, name: str) -> Any:
    column = getattr(UsageFact, name)
    if not q.reads_day_totals:
        return func.sum(column)
    from_totals = name in q.day_total_metrics
    return func.sum(case((UsageFact.is_day_total.is_(from_totals), column), else_=null()))


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def grouped_usage(dialect: str, q: UsageQuery) -> Any:
    """One row per (period, user, model, surface[, product]) with every metric summed."""
    f = UsageFact
    keys = [
        period_expression(dialect, f.day, q.granularity, q.start).label("period"),
        (f.user_email if "user" in q.dims else literal("")).label("user_key"),
        (f.model if "model" in q.dims else literal("")).label("model_key"),
        (f.surface if "surface" in q.dims else literal("")).label("surface_key"),
        (f.product if q.by_product else literal("")).label("product_key"),
    ]
    stmt = (
        select(
            *keys,
            *[_metric(q, name).label(name) for name in q.metrics],
            _count_if(f.is_active.is_(True)).label("active_days"),
            _count_if(_used_in_detail()).label("detail_used"),
            _count_if(_used_in_totals()).label("totals_used"),
            func.max(f.client_version).label("client_version"),
        )
        .where(*_filters(q, dialect if q.groups is not None else ""))
        .group_by(*keys)
    )
    if not q.include_inactive:
        stmt = stmt.having(_count_if(_counts_as_active()) > 0)
    return stmt.subquery("g")


def key_columns(q: UsageQuery, g: Any) -> list[Any]:
    """The natural key of a grouped row, in keyset order."""
    columns = [g.c.period, g.c.user_key, g.c.model_key, g.c.surface_key]
    return [*columns, g.c.product_key] if q.by_product else columns


def group_columns(q: UsageQuery) -> list[Any]:
    """The fact columns that name a group within its period, in keyset order."""
    f = UsageFact
    named = zip(DIMENSIONS, (f.user_email, f.model, f.surface), strict=True)
    columns = [column for dim, column in named if dim in q.dims]
    return [*columns, f.product] if q.by_product else columns


async def usage_page(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int
) -> Sequence[Any]:
    dialect = session.get_bind().dialect.name
    if _by_periods(q, position):
        return await _period_by_period(session, dialect, q, position, limit)
    if q.granularity == "day" and q.dims == ("user",):
        # The default grain maps onto indexed (day, user) keys: find the page's keys first,
        # then aggregate only those, instead of grouping the whole range on every page.
        keys = await _user_day_keys(session, q, position, limit)
        if not keys:
            return []
        q = replace(q, keys=tuple(keys))
    if position is not None and position.direction == "next" and position.key:
        # Nothing before the cursor's period can follow it: let the inner scan skip it.
        q = _from_period(q, position.key[0])
    g = grouped_usage(dialect, q)
    key_position = _typed_position(position, dialect)
    stmt = keyset.apply(select(g), key_columns(q, g), key_position, limit)
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows


def _by_periods(q: UsageQuery, position: Position | None) -> bool:
    """Weeks or months of users page period by period: a page's groups are found first in
    the index, then only they are summed, instead of grouping the whole range per page."""
    backwards = position is not None and position.direction == "prev"
    return q.granularity in ("week", "month") and "user" in q.dims and not backwards


async def _period_by_period(
    session: AsyncSession, dialect: str, q: UsageQuery, position: Position | None, limit: int
) -> list[Any]:
    after = position.key if position is not None and position.key else None
    rows: list[Any] = []
    for lo, hi in period_spans(q):
        label = _bucket_start(lo, q.granularity)
        if after is not None and label.isoformat() < after[0]:
            continue
        rest = after[1:] if after is not None and label.isoformat() == after[0] else None
        span = replace(q, start=lo, end=hi)
        wanted = limit + 1 - len(rows)
        groups = await _group_keys(session, dialect, span, rest, wanted)
        if groups:
            g = grouped_usage(dialect, replace(span, groups=tuple(groups)))
            stmt = keyset.apply(select(g), key_columns(q, g), None, wanted)
            rows.extend((await session.execute(stmt)).all())
        if len(rows) > limit:
            break
    return rows


async def _group_keys(
    session: AsyncSession, dialect: str, q: UsageQuery, after: list[Any] | None, limit: int
) -> list[tuple[str, ...]]:
    """The first ``limit`` groups of one period (after the cursor's, within its period)."""
    columns = group_columns(q)
    stmt = select(*columns).where(*_filters(q, dialect)).distinct()
    if not q.include_inactive:
        stmt = stmt.where(_counts_as_active())  # what the grouping's HAVING keeps
    if after is not None:
        # The cursor's key is (user, model, surface[, product]), "" for an absent dimension.
        present = [
            *(v for d, v in zip(DIMENSIONS, after[:3], strict=True) if d in q.dims),
            *after[3:],
        ]
        stmt = stmt.where(tuple_(*columns) > tuple_(*present[: len(columns)]))
    rows = await session.execute(stmt.order_by(*columns).limit(limit))
    return [tuple(row) for row in rows.all()]


def period_spans(q: UsageQuery) -> list[tuple[dt.date, dt.date]]:
    """The range cut at week or month boundaries: ``[start, end)`` of each period in it."""
    spans = []
    lo = q.start
    while lo < q.end:
        hi = min(_next_bucket(_bucket_start(lo, q.granularity), q.granularity), q.end)
        spans.append((lo, hi))
        lo = hi
    return spans


def _bucket_start(day: dt.date, granularity: str) -> dt.date:
    """The first day of a day's week (Monday) or month, as ``period_expression`` says."""
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_bucket(start: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=32)).replace(day=1)


def _from_period(q: UsageQuery, period_iso: str) -> UsageQuery:
    period = dt.date.fromisoformat(period_iso)
    if q.granularity == "total" or period <= q.start:
        return q
    return replace(q, start=period)


async def _user_day_keys(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int
) -> list[tuple[dt.date, str]]:
    """The (day, user) keys of one page, from one index-ordered scan that stops early."""
    backwards = position is not None and position.direction == "prev"
    f = UsageFact
    stmt = select(f.day, f.user_email).where(*_filters(q)).distinct()
    if not q.include_inactive:
        stmt = stmt.where(_counts_as_active())
    if position is not None and position.key:
        after = (dt.date.fromisoformat(position.key[0]), position.key[1])
        pair = tuple_(f.day, f.user_email)
        # With products in the key, the cursor's (day, user) may have rows left to read.
        inclusive = q.by_product
        if backwards:
            stmt = stmt.where(pair <= tuple_(*after) if inclusive else pair < tuple_(*after))
        else:
            stmt = stmt.where(pair >= tuple_(*after) if inclusive else pair > tuple_(*after))
    order = [f.day.desc(), f.user_email.desc()] if backwards else [f.day, f.user_email]
    rows = await session.execute(stmt.order_by(*order).limit(limit + 1))
    return [(_day_of(day), email) for day, email in rows.all()]


def _day_of(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _typed_position(position: Position | None, dialect: str) -> Position | None:
    """Cursor keys carry the period as ISO text; PostgreSQL compares it as a date."""
    if position is None or dialect == "sqlite":
        return position
    period, *rest = position.key
    return Position(key=[dt.date.fromisoformat(period), *rest], direction=position.direction)


# -- users ----------------------------------------------------------------------------------


async def models_of(session: AsyncSession, account_id: str) -> list[str]:
    """Every model id the account's facts name (a short list: the vendor's models)."""
    rows = await session.scalars(
        select(UsageFact.model).where(UsageFact.account_id == account_id).distinct()
    )
    return [m for m in rows.all() if m]


# The member columns a user record shows, read as plain rows: building ORM objects for a
# page of members cost more than its query did.
_USER_COLUMNS = (
    Member.id, Member.remote_id, Member.email, Member.name, Member.role, Member.is_removed,
    Member.first_seen_at, Member.updated_at, Member.last_activity_at, Member.last_active_day,
    Member.spend_limit_dollars, Member.raw,
)  # fmt: skip


async def members_page(
    session: AsyncSession,
    account_id: str,
    *,
    removed: bool | None,
    email: str | None,
    updated_after: int | None,
    position: Position | None,
    limit: int,
) -> Sequence[Any]:
    """One page of members with everything their user records show, in one query (their
    last activity and spend limit are kept on the member row by every sync)."""
    stmt = select(*_USER_COLUMNS).where(Member.account_id == account_id)
    if removed is not None:
        stmt = stmt.where(Member.is_removed.is_(removed))
    if email is not None:
        stmt = stmt.where(func.lower(Member.email) == email.lower())
    if updated_after is not None:
        stmt = stmt.where(Member.updated_at > updated_after)
    rows: Sequence[Any] = (
        await session.execute(keyset.apply(stmt, [Member.id], position, limit))
    ).all()
    return rows


async def member_by_remote_id(session: AsyncSession, account_id: str, remote_id: str) -> Any:
    """The member's user-record row, or None."""
    stmt = select(*_USER_COLUMNS).where(
        Member.account_id == account_id, Member.remote_id == remote_id
    )
    return (await session.execute(stmt)).first()


async def members_by_email(
    session: AsyncSession, account_id: str, emails: Sequence[str]
) -> dict[str, Any]:
    """Who each email is (remote id and name), for the ``user`` of usage records."""
    if not emails:
        return {}
    m = Member
    stmt = select(m.email, m.remote_id, m.name).where(
        m.account_id == account_id, m.email.in_(list(emails))
    )
    return {row.email: row for row in (await session.execute(stmt)).all()}


async def emails_of(session: AsyncSession, account_id: str, remote_ids: Sequence[str]) -> list[str]:
    stmt = select(Member.email).where(
        Member.account_id == account_id, Member.remote_id.in_(list(remote_ids))
    )
    return list((await session.scalars(stmt)).all())


async def daily_sources(
    session: AsyncSession, account_id: str, pairs: Sequence[tuple[dt.date, str]]
) -> dict[tuple[dt.date, str], dict[str, Any]]:
    """The stored daily-usage payloads behind user-day rows."""
    if not pairs:
        return {}
    days = {day for day, _ in pairs}
    emails = {email for _, email in pairs}
    rows = await session.execute(
        select(DailyUsage.day, DailyUsage.email, DailyUsage.raw).where(
            DailyUsage.account_id == account_id,
            DailyUsage.day.in_(days),
            DailyUsage.email.in_(emails),
        )
    )
    return {(day, email): raw for day, email, raw in rows.all()}


async def event_sources(
    session: AsyncSession, q: UsageQuery, period_end: dt.date, key: tuple[str, str, str], cap: int
) -> list[dict[str, Any]]:
    """Up to ``cap`` stored event payloads behind one grouped row."""
    user, model, surface = key
    e = UsageEvent
    stmt = select(e.raw, e.email).where(
        e.account_id == q.account_id, e.day >= q.start, e.day < period_end
    )
    if "user" in q.dims:
        stmt = stmt.where(e.email == user) if user else stmt.where(e.email.is_(None))
    if "model" in q.dims:
        stmt = stmt.where(e.model == model)
    if "surface" in q.dims:
        stmt = stmt.where(e.surface == surface)
    rows = await session.execute(stmt.order_by(e.timestamp_ms, e.id).limit(cap))
    return [raw for raw, _ in rows.all()]


async def fact_sources(
    session: AsyncSession,
    q: UsageQuery,
    period_end: dt.date,
    key: tuple[str, str, str, str | None],
    cap: int,
) -> list[dict[str, Any]]:
    """Up to ``cap`` vendor rows kept on the facts behind one grouped row (a vendor without
    raw tables of its own), in the facts' order."""
    user, model, surface, product = key
    f = UsageFact
    stmt = select(f.sources).where(
        f.account_id == q.account_id,
        f.day >= q.start,
        f.day < period_end,
        f.sources.is_not(None),
    )
    if "user" in q.dims:
        stmt = stmt.where(f.user_email == user)
    if "model" in q.dims:
        stmt = stmt.where(f.model == model)
    if "surface" in q.dims:
        stmt = stmt.where(f.surface == surface)
    if product is not None:
        stmt = stmt.where(f.product == product)
    out: list[dict[str, Any]] = []
    for sources in (await session.scalars(stmt.order_by(f.day, f.id))).all():
        out.extend(sources or ())
        if len(out) >= cap:
            return out[:cap]
    return out
