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
from dataclasses import replace
from functools import partial
from typing import Any

from sqlalchemy import Text, bindparam, cast, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import direct, keyset, user_records
from unimeter.db.models import DailyUsage, Member, UsageEvent, UsageFact
from unimeter.db.periods import bucket_start, period_spans
from unimeter.kit.cursors import Position

from . import fact_days, grouping
from .query import DIMENSIONS, UsageQuery


async def usage_page(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int
) -> Sequence[Any]:
    dialect = session.get_bind().dialect.name
    if _by_periods(q, position):
        return await _period_by_period(session, dialect, q, position, limit)
    rolled = fact_days.serves(q) and await fact_days.ready(session, q)
    # A single-product vendor's records are rows of the user-day rollups as they are: one
    # scan of them in key order from the cursor stops after the page, with nothing to find
    # or sum first. Their model and surface are empty, so (period, user) is the whole key.
    as_rows = rolled and fact_days.merged(q)
    if q.granularity == "day" and q.dims == ("user",) and not as_rows:
        # The default grain maps onto indexed (day, user) keys: find the page's keys first,
        # then aggregate only those, instead of grouping the whole range on every page.
        keys = await _user_day_keys(session, q, position, limit, rolled)
        if not keys:
            return []
        q = replace(q, keys=tuple(keys))
    if position is not None and position.direction == "next" and position.key:
        # Nothing before the cursor's period can follow it: let the inner scan skip it.
        q = _from_period(q, position.key[0])
    typed = _typed_position(position, dialect)
    after = None if typed is None else typed.key[:2] if as_rows else typed.key
    bound, params = (None, {}) if after is None else grouping.bound_key("after_", after)

    def build() -> Any:
        if as_rows:
            g = fact_days.user_day_usage(dialect, q)
            columns = [g.c.period, g.c.user_key]
        else:
            g = (fact_days if rolled else grouping).grouped_usage(dialect, q)
            columns = grouping.key_columns(q, g)
        at = Position(key=bound, direction=typed.direction) if typed and bound else None
        return keyset.apply(select(g), columns, at, limit)

    direction = typed.direction if typed is not None else None
    shape = ("page", dialect, grouping.shape(q), rolled, direction,
             grouping.key_types(after), limit)  # fmt: skip
    stmt = grouping.cached(shape, build)
    return await direct.rows(session, stmt, {**grouping.values(q), **params})


def _by_periods(q: UsageQuery, position: Position | None) -> bool:
    """Weeks or months of users page period by period, instead of grouping the whole range
    per page: a period's groups in index order, summed as they are read, stopping after the
    page (:func:`grouping.period_page`); or, where no index holds them in order, the page's
    groups found first, then only they summed."""
    backwards = position is not None and position.direction == "prev"
    return q.granularity in ("week", "month") and "user" in q.dims and not backwards


async def _period_by_period(
    session: AsyncSession, dialect: str, q: UsageQuery, position: Position | None, limit: int
) -> list[Any]:
    after = position.key if position is not None and position.key else None
    rows: list[Any] = []
    for lo, hi in period_spans(q.start, q.end, q.granularity):
        label = bucket_start(lo, q.granularity)
        if after is not None and label.isoformat() < after[0]:
            continue
        rest = after[1:] if after is not None and label.isoformat() == after[0] else None
        span = replace(q, start=lo, end=hi)
        wanted = limit + 1 - len(rows)
        if grouping.walks_period(dialect, span):
            rows.extend(await _period_page(session, span, rest, wanted))
        elif groups := await _group_keys(session, dialect, span, rest, wanted):
            span = replace(span, groups=tuple(groups))
            stmt = grouping.cached(
                ("period", dialect, grouping.shape(span), wanted),
                partial(_period_statement, dialect, span, wanted),
            )
            rows.extend(await direct.rows(session, stmt, grouping.values(span)))
        if len(rows) > limit:
            break
    return rows


def _period_statement(dialect: str, q: UsageQuery, wanted: int) -> Any:
    g = grouping.grouped_usage(dialect, q)
    return keyset.apply(select(g), grouping.key_columns(q, g), None, wanted)


async def _period_page(
    session: AsyncSession, q: UsageQuery, after: list[Any] | None, limit: int
) -> Sequence[Any]:
    """The first ``limit`` groups of one period with their sums, in one statement."""
    present = _group_key(q, after)
    bound, params = (None, {}) if present is None else grouping.bound_key("after_", present)
    shape = ("period_page", grouping.shape(q), grouping.key_types(present), limit)
    stmt = grouping.cached(shape, partial(grouping.period_page, q, bound, limit))
    return await direct.rows(session, stmt, {**grouping.values(q, within_period=True), **params})


def _group_key(q: UsageQuery, after: list[Any] | None) -> list[Any] | None:
    """A cursor's key within its period, (user, model, surface[, product]) with "" for an
    absent dimension, as the values of :func:`grouping.group_columns`."""
    if after is None:
        return None
    return [
        *(v for d, v in zip(DIMENSIONS, after[:3], strict=True) if d in q.dims),
        *after[3:],
    ][: len(grouping.group_columns(q))]


async def _group_keys(
    session: AsyncSession, dialect: str, q: UsageQuery, after: list[Any] | None, limit: int
) -> list[tuple[str, ...]]:
    """The first ``limit`` groups of one period (after the cursor's, within its period)."""
    present = _group_key(q, after)
    bound, params = (None, {}) if present is None else grouping.bound_key("after_", present)

    def build() -> Any:
        columns = grouping.group_columns(q)
        stmt = select(*columns).where(*grouping.filters(q, dialect)).distinct()
        if not q.include_inactive:
            stmt = stmt.where(grouping.counts_as_active())  # what the grouping's HAVING keeps
        if bound is not None:
            stmt = stmt.where(tuple_(*columns) > tuple_(*bound))
        return stmt.order_by(*columns).limit(limit)

    shape = ("groups", dialect, grouping.shape(q), grouping.key_types(present), limit)
    stmt = grouping.cached(shape, build)
    rows = await direct.rows(session, stmt, {**grouping.values(q), **params})
    return [tuple(row) for row in rows]


def _from_period(q: UsageQuery, period_iso: str) -> UsageQuery:
    period = dt.date.fromisoformat(period_iso)
    if q.granularity == "total" or period <= q.start:
        return q
    return replace(q, start=period)


async def _user_day_keys(
    session: AsyncSession, q: UsageQuery, position: Position | None, limit: int, rolled: bool
) -> list[tuple[dt.date, str]]:
    """The (day, user) keys of one page, from one index-ordered scan that stops early (of
    the fact-day rollups when ``rolled``)."""
    backwards = position is not None and position.direction == "prev"
    after = None
    if position is not None and position.key:
        after = [dt.date.fromisoformat(position.key[0]), position.key[1]]
    bound, params = (None, {}) if after is None else grouping.bound_key("after_", after)

    def build() -> Any:
        f = fact_days.D if rolled else grouping.F
        stmt = select(f.day, f.user_email).where(*grouping.filters(q, c=f)).distinct()
        if not q.include_inactive:
            active = fact_days.counts_as_active(f) if rolled else grouping.counts_as_active()
            stmt = stmt.where(active)
        if bound is not None:
            pair, cursor = tuple_(f.day, f.user_email), tuple_(*bound)
            # With products in the key, the cursor's (day, user) may have rows left to read.
            inclusive = q.by_product
            if backwards:
                stmt = stmt.where(pair <= cursor if inclusive else pair < cursor)
            else:
                stmt = stmt.where(pair >= cursor if inclusive else pair > cursor)
        order = [f.day.desc(), f.user_email.desc()] if backwards else [f.day, f.user_email]
        return stmt.order_by(*order).limit(limit + 1)

    shape = ("user_days", grouping.shape(q), rolled, backwards, grouping.key_types(after), limit)
    stmt = grouping.cached(shape, build)
    rows = await direct.rows(session, stmt, {**grouping.values(q), **params})
    return [(_day_of(day), email) for day, email in rows]


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


# A users page reads each member's stored record (``unimeter.db.user_records``); the columns
# it is rendered from only for a member without one, or a request that reshapes records.
# Plain rows: building ORM objects for a page of members cost more than its query did.
_M = Member.__table__.c
_STORED = (_M.id, _M.record)
_USER_COLUMNS = (*user_records.COLUMNS, _M.record)


async def members_page(
    session: AsyncSession,
    account_id: str,
    *,
    removed: bool | None,
    email: str | None,
    updated_after: int | None,
    position: Position | None,
    limit: int,
    stored: bool = True,
) -> Sequence[Any]:
    """One page of members: their stored records (``id``, ``record``), or with ``stored``
    False every column their records are rendered from."""
    after, params = (None, {}) if position is None else grouping.bound_key("after_", position.key)

    def build() -> Any:
        columns = _STORED if stored else _USER_COLUMNS
        stmt = select(*columns).where(_M.account_id == bindparam("account"))
        if removed is not None:
            stmt = stmt.where(_M.is_removed.is_(removed))
        if email is not None:
            stmt = stmt.where(func.lower(_M.email) == bindparam("email"))
        if updated_after is not None:
            stmt = stmt.where(_M.updated_at > bindparam("updated_after"))
        at = Position(key=after, direction=position.direction) if position and after else None
        return keyset.apply(stmt, [_M.id], at, limit)

    direction = position.direction if position is not None else None
    key_types = grouping.key_types(position.key if position is not None else None)
    shape = ("members", stored, removed, email is None, updated_after is None, direction,
             key_types, limit)  # fmt: skip
    params.update(account=account_id, email=email.lower() if email else None,
                  updated_after=updated_after)  # fmt: skip
    return await direct.rows(session, grouping.cached(shape, build), params)


async def member_by_remote_id(session: AsyncSession, account_id: str, remote_id: str) -> Any:
    """The member's user-record row (every column), or None."""
    stmt = select(*_USER_COLUMNS).where(
        Member.account_id == account_id, Member.remote_id == remote_id
    )
    return (await session.execute(stmt)).first()


async def members_to_render(session: AsyncSession, account_id: str, ids: list[int]) -> Any:
    """Members' user-record rows (every column) by id, for those without a stored record."""
    stmt = select(*_USER_COLUMNS).where(_M.account_id == account_id, _M.id.in_(ids))
    return (await session.execute(stmt)).all()


# Statements of every usage page, built once (values bound per request).
_MEMBERS_BY_EMAIL = select(_M.email, _M.remote_id, _M.name).where(
    _M.account_id == bindparam("account"), _M.email.in_(bindparam("emails", expanding=True))
)
_D = DailyUsage.__table__.c
# The payloads as their JSON text: passed through to the response unparsed.
_DAILY_SOURCES = select(_D.day, _D.email, cast(_D.raw, Text)).where(
    _D.account_id == bindparam("account"),
    _D.day.in_(bindparam("days", expanding=True)),
    _D.email.in_(bindparam("emails", expanding=True)),
)


async def members_by_email(
    session: AsyncSession, account_id: str, emails: Sequence[str]
) -> dict[str, Any]:
    """Who each email is (remote id and name), for the ``user`` of usage records."""
    if not emails:
        return {}
    rows = await direct.rows(
        session, _MEMBERS_BY_EMAIL, {"account": account_id, "emails": list(emails)}
    )
    return {row.email: row for row in rows}


async def emails_of(session: AsyncSession, account_id: str, remote_ids: Sequence[str]) -> list[str]:
    stmt = select(Member.email).where(
        Member.account_id == account_id, Member.remote_id.in_(list(remote_ids))
    )
    return list((await session.scalars(stmt)).all())


async def daily_sources(
    session: AsyncSession, account_id: str, pairs: Sequence[tuple[dt.date, str]]
) -> dict[tuple[dt.date, str], str]:
    """The stored daily-usage payloads behind user-day rows, as JSON text."""
    if not pairs:
        return {}
    days = sorted({day for day, _ in pairs})
    emails = sorted({email for _, email in pairs})
    params = {"account": account_id, "days": days, "emails": emails}
    rows = await direct.rows(session, _DAILY_SOURCES, params)
    return {(_day_of(day), email): raw for day, email, raw in rows}


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
