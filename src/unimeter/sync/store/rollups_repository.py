"""SQL that rebuilds the detail usage facts and the narrow rollups of the days a sync touched.

A day is rebuilt in one transaction: its event-derived detail facts are deleted and
recomputed from its usage events, then its user-day rollups (and the rollups of its month)
from all its detail facts, and its fact-day rollups from all its facts, so a reader sees
either the old or the new day, never a mix.
Rebuilding (rather than applying deltas) keeps facts and rollups exactly equal to what they
summarise, whatever changed.

Detail facts come from one of two places, per product: derived here from the product's
usage events, or reported by the connector as :class:`~unimeter.connectors.facts.UsageFactRecord`
and written by :mod:`.facts_repository` (a vendor without events). A rebuild deletes only the
detail facts of products that have events on the day, so reported facts survive it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, case, delete, false, func, insert, literal, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.facts import INTERACTIVE_SURFACES, NONE
from unimeter.db import fact_activity
from unimeter.db.base import now_ms
from unimeter.db.models import (
    RollupDirtyDay,
    UsageEvent,
    UsageFact,
    UserDayRollup,
    UserModelMonthRollup,
    usage_day_records,
    usage_fact_days,
    usage_user_days,
)
from unimeter.db.models.facts import FACT_METRICS
from unimeter.db.models.rollups import ACTIVITY_COUNTS, UNATTRIBUTED, in_detail, in_totals
from unimeter.sync.store import bulk

# Days per statement: bounds the IN list and the size of one transaction.
DAYS_PER_BATCH = 31


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _sum_if(condition: Any, column: Any) -> Any:
    return func.sum(case((condition, column), else_=0))


# The detail fact columns derived from events, in the order of :func:`_from_events`.
_FACT_TARGET = [
    "account_id", "day", "user_email", "actor", "product", "surface", "model", "is_day_total",
    "requests", "requests_included", "requests_usage_based", "requests_api_key",
    "requests_errored", "requests_premium", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_cents_e6", "included_cents_e6",
    "usage_based_cents_e6", "updated_at",
]  # fmt: skip


def _from_events(account_id: str, days: list[dt.date], now: int) -> Any:
    """One detail fact per (user, product, surface, model, day) of the events."""
    e = UsageEvent
    user = func.coalesce(e.email, literal(UNATTRIBUTED))
    return (
        select(
            e.account_id,
            e.day,
            user,
            literal(NONE),
            e.product,
            e.surface,
            e.model,
            false(),
            func.count(),
            _count_if(e.charge_type == "included"),
            _count_if(e.charge_type == "usage_based"),
            _count_if(e.charge_type == "api_key"),
            _count_if(e.charge_type == "errored"),
            _count_if(e.max_mode.is_(True)),
            func.sum(e.input_tokens),
            func.sum(e.output_tokens),
            func.sum(e.cache_read_tokens),
            func.sum(e.cache_write_tokens),
            func.sum(e.charged_cents_e6),
            _sum_if(e.charge_type == "included", e.charged_cents_e6),
            _sum_if(e.charge_type == "usage_based", e.charged_cents_e6),
            literal(now),
        )
        .where(e.account_id == account_id, e.day.in_(days))
        .group_by(e.account_id, e.day, user, e.product, e.surface, e.model)
    )


# Narrow rollup column -> the detail fact metric it sums (what consumption and chargeback add).
NARROW_METRICS = (
    ("events", "requests"),
    ("input_tokens", "input_tokens"),
    ("output_tokens", "output_tokens"),
    ("cache_read_tokens", "cache_read_tokens"),
    ("cache_write_tokens", "cache_write_tokens"),
    ("charged_cents_e6", "cost_cents_e6"),
    ("included_cents_e6", "included_cents_e6"),
    ("usage_based_cents_e6", "usage_based_cents_e6"),
)
# The sums the narrow rollups keep (and consumption reports).
NARROW_SUMS = tuple(column for column, _ in NARROW_METRICS)

# Usage on a known surface other than the interactive ones is headless or an agent; usage
# with no surface split (NONE) is not known to be either.


def _sums() -> list[Any]:
    # A metric no fact reports sums to NULL; the narrow rollups keep it as zero.
    return [func.coalesce(func.sum(getattr(UsageFact, m)), 0) for _, m in NARROW_METRICS]


def _detail(account_id: str) -> list[Any]:
    return [UsageFact.account_id == account_id, UsageFact.is_day_total.is_(False)]


def _user_days(account_id: str, days: list[dt.date]) -> Any:
    f = UsageFact
    headless = f.surface.not_in([*sorted(INTERACTIVE_SURFACES), NONE])
    return (
        select(
            f.account_id,
            f.day,
            f.user_email,
            f.product,
            *_sums(),
            func.coalesce(_sum_if(headless, func.coalesce(f.cost_cents_e6, 0)), 0),
        )
        .where(*_detail(account_id), f.day.in_(days))
        .group_by(f.account_id, f.day, f.user_email, f.product)
    )


_USER_DAY = ["account_id", "day", "user_email", "product", *NARROW_SUMS, "headless_cents_e6"]


async def refresh(session: AsyncSession, account_id: str, days: Iterable[dt.date]) -> int:
    """Rebuild the event-derived detail facts of ``days`` and the narrow rollups of them
    and their months; returns the number of detail facts written from events."""
    ordered = sorted(set(days))
    written = 0
    await bulk.sort_in_memory(session)
    for start in range(0, len(ordered), DAYS_PER_BATCH):
        batch = ordered[start : start + DAYS_PER_BATCH]
        written += await _refresh_event_facts(session, account_id, batch)
        await session.execute(
            delete(UserDayRollup).where(
                UserDayRollup.account_id == account_id, UserDayRollup.day.in_(batch)
            )
        )
        await session.execute(
            insert(UserDayRollup).from_select(_USER_DAY, _user_days(account_id, batch))
        )
        await _refresh_fact_days(session, account_id, batch)
    for month in sorted({day.replace(day=1) for day in ordered}):
        await _refresh_month(session, account_id, month)
    return written


async def _refresh_event_facts(session: AsyncSession, account_id: str, days: list[dt.date]) -> int:
    e, f = UsageEvent, UsageFact
    # Events are never deleted, so the products with events on a day only grow: deleting
    # theirs removes every fact an earlier rebuild derived, and nothing a connector reported.
    # The (day, product) pairs are read once, not per fact: a subquery correlated on the day
    # read all the account's events for each fact row (no index has the day), which made a
    # rebuild of days that already had facts quadratic (30 s for a 25-user team on SQLite).
    with_events = (
        select(e.day, e.product).where(e.account_id == account_id, e.day.in_(days)).distinct()
    )
    await session.execute(
        delete(f).where(
            *_detail(account_id), f.day.in_(days), tuple_(f.day, f.product).in_(with_events)
        )
    )
    result = await session.execute(
        insert(f).from_select(_FACT_TARGET, _from_events(account_id, days, now_ms()))
    )
    return max(0, int(getattr(result, "rowcount", 0) or 0))


_FACT_DAY_KEY = ("account_id", "day", "user_email", "product", "is_day_total")


async def _refresh_fact_days(session: AsyncSession, account_id: str, days: list[dt.date]) -> None:
    """Re-sum the facts of ``days`` (both kinds, already rebuilt) per (user, product, day,
    kind) into ``usage_fact_days``."""
    d, f = usage_fact_days.c, UsageFact.__table__.c
    await session.execute(
        delete(usage_fact_days).where(d.account_id == account_id, d.day.in_(days))
    )
    key = [f[name] for name in _FACT_DAY_KEY]
    source = (
        select(
            *key,
            *[func.sum(f[name]) for name in FACT_METRICS],
            _count_if(f.is_active.is_(True)),
            _count_if(fact_activity.used_in_detail(f)),
            _count_if(fact_activity.used_in_totals(f)),
            _count_if(fact_activity.counts_as_active(f)),
            func.max(f.client_version),
        )
        .where(f.account_id == account_id, f.day.in_(days))
        .group_by(*key)
    )
    target = [*_FACT_DAY_KEY, *FACT_METRICS, *ACTIVITY_COUNTS, "client_version"]
    await session.execute(insert(usage_fact_days).from_select(target, source))
    await _refresh_user_days(session, account_id, days)


_USER_DAY_KEY = ("account_id", "day", "user_email")


async def _refresh_user_days(session: AsyncSession, account_id: str, days: list[dt.date]) -> None:
    """Merge the fact-day rollups of ``days`` (already rebuilt) per (user, day) into
    ``usage_user_days``: each metric over detail facts and over day totals, every product."""
    u, d, r = usage_user_days.c, usage_fact_days.c, usage_day_records.c
    await session.execute(
        delete(usage_user_days).where(u.account_id == account_id, u.day.in_(days))
    )
    # Their stored records go with them: the sync renders the days' records again after it
    # rebuilds them (``SyncHooks.store_records``).
    await session.execute(
        delete(usage_day_records).where(r.account_id == account_id, r.day.in_(days))
    )
    key = [d[name] for name in _USER_DAY_KEY]
    source = (
        select(
            *key,
            *[
                func.sum(d[name]).filter(d.is_day_total.is_(totals))
                for name in FACT_METRICS
                for totals in (False, True)
            ],
            *[func.sum(d[name]) for name in ACTIVITY_COUNTS],
            func.max(d.client_version),
        )
        .where(d.account_id == account_id, d.day.in_(days))
        .group_by(*key)
    )
    merged = [column(name) for name in FACT_METRICS for column in (in_detail, in_totals)]
    target = [*_USER_DAY_KEY, *merged, *ACTIVITY_COUNTS, "client_version"]
    await session.execute(insert(usage_user_days).from_select(target, source))


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=31)).replace(day=1)


async def _refresh_month(session: AsyncSession, account_id: str, month: dt.date) -> None:
    """Re-sum a whole month from its (already rebuilt) detail facts."""
    m, f = UserModelMonthRollup, UsageFact
    await session.execute(delete(m).where(m.account_id == account_id, m.month == month))
    source = (
        select(f.account_id, literal(month, Date), f.user_email, f.product, f.model, *_sums())
        .where(*_detail(account_id), f.day >= month, f.day < next_month(month))
        .group_by(f.account_id, f.user_email, f.product, f.model)
    )
    target = ["account_id", "month", "user_email", "product", "model", *NARROW_SUMS]
    await session.execute(insert(m).from_select(target, source))


async def mark_dirty(session: AsyncSession, account_id: str, days: Iterable[dt.date]) -> None:
    """Record, in the caller's transaction, that these days need their rollups rebuilt."""
    wanted = set(days)
    if not wanted:
        return
    known = await session.execute(
        select(RollupDirtyDay.day).where(
            RollupDirtyDay.account_id == account_id, RollupDirtyDay.day.in_(wanted)
        )
    )
    fresh = wanted - {day for (day,) in known.all()}
    if fresh:
        # Streams write concurrently: another transaction may mark the same day between the
        # read above and this insert (PostgreSQL would then refuse the duplicate key). In
        # ascending order, so that two such transactions wait on each other in one order
        # only: in a set's order, each could hold a day the other waits for (a deadlock).
        await session.execute(
            _insert_ignore(session),
            [{"account_id": account_id, "day": day} for day in sorted(fresh)],
        )


def _insert_ignore(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(RollupDirtyDay).on_conflict_do_nothing()
    return sqlite_insert(RollupDirtyDay).on_conflict_do_nothing()


async def dirty_days(session: AsyncSession, account_id: str) -> list[dt.date]:
    rows = await session.execute(
        select(RollupDirtyDay.day).where(RollupDirtyDay.account_id == account_id)
    )
    return sorted(day for (day,) in rows.all())


async def clear_dirty(session: AsyncSession, account_id: str, days: Iterable[dt.date]) -> None:
    await session.execute(
        delete(RollupDirtyDay).where(
            RollupDirtyDay.account_id == account_id, RollupDirtyDay.day.in_(list(days))
        )
    )
