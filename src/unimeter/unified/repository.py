"""SQL of the unified API: users, and usage grouped from rollups and daily usage.

Usage rows are grouped in SQL and paged by keyset over their natural key
``(period, user, model, surface)``, which a sync never rewrites. The only dialect
differences (week and month buckets) live in :func:`unimeter.db.periods.period_expression`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Integer,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import (
    DailyUsage,
    Member,
    SpendSnapshot,
    SpendSnapshotMember,
    UsageEvent,
    UsageFact,
)
from unimeter.db.periods import period_expression
from unimeter.kit.cursors import Position

DIMENSIONS = ("user", "model", "surface")

# Metric columns of the union: (name, daily-usage expression, rollup expression).
_DAILY_METRICS = (
    "chat_requests", "agent_requests", "composer_requests", "cmdk_requests", "tabs_shown",
    "tabs_accepted", "included_requests", "usage_based_requests", "api_key_requests",
    "bugbot_requests", "lines_added", "lines_deleted", "accepted_lines_added",
    "accepted_lines_deleted", "applies", "accepts", "rejects",
)  # fmt: skip
_ROLLUP_METRICS = (
    "events", "included_events", "usage_based_events", "api_key_events", "errored_events",
    "max_mode_events", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6",
)  # fmt: skip
# The detail fact column behind each of them.
_FACT_COLUMNS = (
    "requests", "requests_included", "requests_usage_based", "requests_api_key",
    "requests_errored", "requests_premium", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_cents_e6", "included_cents_e6",
    "usage_based_cents_e6",
)  # fmt: skip


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

    @property
    def with_daily(self) -> bool:
        """Daily usage (per user and day) can join in unless rows split by model or surface."""
        return "model" not in self.dims and "surface" not in self.dims


def _filters(
    table: Any, user_col: Any, q: UsageQuery, model_col: Any | None, surface_col: Any | None
) -> list[Any]:
    if q.keys is not None:
        # Only the page's days, so the (account, day, ...) index narrows the scan (given two
        # ranges on one column SQLite may pick the wider); the pairs then keep exactly the keys.
        days = [day for day, _ in q.keys]
        where = [table.account_id == q.account_id, table.day >= min(days), table.day <= max(days)]
        where.append(tuple_(table.day, user_col).in_(list(q.keys)))
    else:
        where = [table.account_id == q.account_id, table.day >= q.start, table.day < q.end]
    if q.emails is not None:
        where.append(user_col.in_(q.emails))
    if q.models is not None and model_col is not None:
        where.append(model_col.in_(q.models))
    if q.surfaces is not None and surface_col is not None:
        where.append(surface_col.in_(q.surfaces))
    return where


def _rollup_part(dialect: str, q: UsageQuery) -> Any:
    r = UsageFact
    columns: list[Any] = [period_expression(dialect, r.day, q.granularity, q.start).label("period")]
    columns += _dim_columns(q, r.user_email, r.model, r.surface)
    columns += [literal(0).label(name) for name in _DAILY_METRICS]
    columns += [literal(0).label("active_days"), literal(None).label("client_version")]
    columns += [
        func.coalesce(getattr(r, column), 0).label(name)
        for name, column in zip(_ROLLUP_METRICS, _FACT_COLUMNS, strict=True)
    ]
    where = _filters(r, r.user_email, q, r.model, r.surface)
    return select(*columns).where(*where, r.is_day_total.is_(False))


def _daily_part(dialect: str, q: UsageQuery) -> Any:
    d = DailyUsage
    columns: list[Any] = [period_expression(dialect, d.day, q.granularity, q.start).label("period")]
    columns += _dim_columns(q, d.email, literal(""), literal(""))
    columns += [getattr(d, name).label(name) for name in _DAILY_METRICS]
    columns += [
        cast(d.is_active, Integer).label("active_days"),
        d.client_version.label("client_version"),
    ]
    columns += [literal(0).label(name) for name in _ROLLUP_METRICS]
    where = _filters(d, d.email, q, None, None)
    if q.models is not None or q.surfaces is not None:
        where.append(literal(False))  # daily rows have neither model nor surface
    return select(*columns).where(*where)


def _dim_columns(q: UsageQuery, user: Any, model: Any, surface: Any) -> list[Any]:
    return [
        (user if "user" in q.dims else literal("")).label("user_key"),
        (model if "model" in q.dims else literal("")).label("model_key"),
        (surface if "surface" in q.dims else literal("")).label("surface_key"),
    ]


def grouped_usage(dialect: str, q: UsageQuery) -> Any:
    """One row per (period, user, model, surface) with every metric summed."""
    parts = [_rollup_part(dialect, q)]
    if q.with_daily:
        parts.append(_daily_part(dialect, q))
    union = union_all(*parts).subquery("u")
    keys = [union.c.period, union.c.user_key, union.c.model_key, union.c.surface_key]
    metrics = [func.sum(union.c[name]).label(name) for name in (*_DAILY_METRICS, *_ROLLUP_METRICS)]
    stmt = select(
        *keys,
        *metrics,
        func.sum(union.c.active_days).label("active_days"),
        func.max(union.c.client_version).label("client_version"),
    ).group_by(*keys)
    if not q.include_inactive:
        stmt = stmt.having(
            or_(
                func.sum(union.c.active_days) > 0,
                func.sum(union.c.events) > 0,
                func.sum(
                    union.c.included_requests
                    + union.c.usage_based_requests
                    + union.c.api_key_requests
                )
                > 0,
            )
        )
    return stmt.subquery("g")


async def usage_page(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int
) -> Sequence[Any]:
    dialect = session.get_bind().dialect.name
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
    columns = [g.c.period, g.c.user_key, g.c.model_key, g.c.surface_key]
    key_position = _typed_position(position, dialect)
    stmt = keyset.apply(select(g), columns, key_position, limit)
    rows: Sequence[Any] = (await session.execute(stmt)).all()
    return rows


def _from_period(q: UsageQuery, period_iso: str) -> UsageQuery:
    period = dt.date.fromisoformat(period_iso)
    if q.granularity == "total" or period <= q.start:
        return q
    return replace(q, start=period)


async def _user_day_keys(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int
) -> list[tuple[dt.date, str]]:
    """The (day, user) keys of one page, from two index-ordered scans that stop early."""
    backwards = position is not None and position.direction == "prev"
    after = None if position is None else (dt.date.fromisoformat(position.key[0]), position.key[1])
    d, r = DailyUsage, UsageFact
    daily = select(d.day, d.email).where(*_filters(d, d.email, q, None, None))
    if not q.include_inactive:
        requests = d.included_requests + d.usage_based_requests + d.api_key_requests
        daily = daily.where(or_(d.is_active.is_(True), requests > 0))
    if q.models is not None or q.surfaces is not None:
        daily = daily.where(literal(False))
    rollups = (
        select(r.day, r.user_email)
        .where(*_filters(r, r.user_email, q, r.model, r.surface), r.is_day_total.is_(False))
        .distinct()
    )
    keys: set[tuple[dt.date, str]] = set()
    for stmt, columns in ((daily, (d.day, d.email)), (rollups, (r.day, r.user_email))):
        if after is not None:
            bound = (
                tuple_(*columns) < tuple_(*after)
                if backwards
                else tuple_(*columns) > tuple_(*after)
            )
            stmt = stmt.where(bound)
        order = [c.desc() for c in columns] if backwards else list(columns)
        rows = await session.execute(stmt.order_by(*order).limit(limit + 1))
        keys.update((_day_of(day), email) for day, email in rows.all())
    return sorted(keys, reverse=backwards)[: limit + 1]


def _day_of(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _typed_position(position: Position | None, dialect: str) -> Position | None:
    """Cursor keys carry the period as ISO text; PostgreSQL compares it as a date."""
    if position is None or dialect == "sqlite":
        return position
    period, *rest = position.key
    return Position(key=[dt.date.fromisoformat(period), *rest], direction=position.direction)


# -- users ----------------------------------------------------------------------------------


async def members_page(
    session: AsyncSession,
    account_id: str,
    *,
    removed: bool | None,
    email: str | None,
    updated_after: int | None,
    position: Position | None,
    limit: int,
) -> Sequence[Member]:
    stmt = select(Member).where(Member.account_id == account_id)
    if removed is not None:
        stmt = stmt.where(Member.is_removed.is_(removed))
    if email is not None:
        stmt = stmt.where(func.lower(Member.email) == email.lower())
    if updated_after is not None:
        stmt = stmt.where(Member.updated_at > updated_after)
    return (await session.scalars(keyset.apply(stmt, [Member.id], position, limit))).all()


async def member_by_remote_id(
    session: AsyncSession, account_id: str, remote_id: str
) -> Member | None:
    stmt = select(Member).where(Member.account_id == account_id, Member.remote_id == remote_id)
    return (await session.scalars(stmt)).first()


async def members_by_email(
    session: AsyncSession, account_id: str, emails: Sequence[str]
) -> dict[str, Member]:
    if not emails:
        return {}
    stmt = select(Member).where(Member.account_id == account_id, Member.email.in_(list(emails)))
    return {m.email: m for m in (await session.scalars(stmt)).all()}


async def emails_of(session: AsyncSession, account_id: str, remote_ids: Sequence[str]) -> list[str]:
    stmt = select(Member.email).where(
        Member.account_id == account_id, Member.remote_id.in_(list(remote_ids))
    )
    return list((await session.scalars(stmt)).all())


async def last_active(
    session: AsyncSession, account_id: str, member_ids: Sequence[int]
) -> dict[int, int]:
    """Latest activity per member: their newest event, or else their newest active day.

    One correlated MAX per member lets the (account, member, time) index answer each with a
    single probe; a GROUP BY over the members would read all their events.
    """
    if not member_ids:
        return {}
    e, d = UsageEvent, DailyUsage
    newest_event = (
        select(func.max(e.timestamp_ms))
        .where(e.account_id == Member.account_id, e.member_id == Member.id)
        .scalar_subquery()
    )
    newest_day = (
        select(func.max(d.day))
        .where(d.account_id == Member.account_id, d.member_id == Member.id, d.is_active.is_(True))
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Member.id, newest_event, newest_day).where(
            Member.account_id == account_id, Member.id.in_(list(member_ids))
        )
    )
    out: dict[int, int] = {}
    for member, ts, day in rows.all():
        if ts is not None:
            out[member] = int(ts)
        elif day is not None:
            day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
            out[member] = int(
                dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000
            )
    return out


async def spend_limits(
    session: AsyncSession, account_id: str, emails: Sequence[str]
) -> dict[str, int | None]:
    """Per-user limits in dollars from the latest spend snapshot, by email."""
    latest = await session.scalar(
        select(SpendSnapshot.id)
        .where(SpendSnapshot.account_id == account_id)
        .order_by(SpendSnapshot.taken_at.desc(), SpendSnapshot.id.desc())
        .limit(1)
    )
    if latest is None:
        return {}
    rows = await session.execute(
        select(SpendSnapshotMember.email, SpendSnapshotMember.effective_limit_dollars).where(
            SpendSnapshotMember.snapshot_id == latest, SpendSnapshotMember.email.in_(list(emails))
        )
    )
    return dict(rows.all())


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
