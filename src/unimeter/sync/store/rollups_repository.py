"""SQL that rebuilds usage rollups for the days a sync touched.

A day's rollup rows are deleted and recomputed from its events in one transaction, so a
reader sees either the old or the new day, never a mix. Rebuilding (rather than applying
deltas) keeps rollups exactly equal to the events they summarise, whatever changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, case, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import (
    RollupDirtyDay,
    UsageEvent,
    UsageRollup,
    UserDayRollup,
    UserModelMonthRollup,
)
from unimeter.db.models.rollups import UNATTRIBUTED

# Days per statement: bounds the IN list and the size of one transaction.
DAYS_PER_BATCH = 31


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _sum_if(condition: Any, column: Any) -> Any:
    return func.sum(case((condition, column), else_=0))


def _select(account_id: str, days: list[dt.date]) -> Any:
    e = UsageEvent
    user = func.coalesce(e.email, literal(UNATTRIBUTED))
    return (
        select(
            e.account_id,
            e.day,
            user,
            e.model,
            e.surface,
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
            func.sum(func.coalesce(e.token_fee_cents_e6, 0)),
            func.sum(e.request_units_e6),
        )
        .where(e.account_id == account_id, e.day.in_(days))
        .group_by(e.account_id, e.day, user, e.model, e.surface)
    )


_TARGET = [
    "account_id", "day", "user_email", "model", "surface", "events", "included_events",
    "usage_based_events", "api_key_events", "errored_events", "max_mode_events",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6", "token_fee_cents_e6",
    "request_units_e6",
]  # fmt: skip


_USER_DAY = [
    "account_id", "day", "user_email", "events", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "charged_cents_e6", "included_cents_e6",
    "usage_based_cents_e6", "headless_cents_e6",
]  # fmt: skip
# Our surface for usage in the editor; every other surface is headless or an agent.
INTERACTIVE_SURFACE = "ide"


def _user_days(account_id: str, days: list[dt.date]) -> Any:
    r = UsageRollup
    return (
        select(
            r.account_id,
            r.day,
            r.user_email,
            func.sum(r.events),
            func.sum(r.input_tokens),
            func.sum(r.output_tokens),
            func.sum(r.cache_read_tokens),
            func.sum(r.cache_write_tokens),
            func.sum(r.charged_cents_e6),
            func.sum(r.included_cents_e6),
            func.sum(r.usage_based_cents_e6),
            _sum_if(r.surface != INTERACTIVE_SURFACE, r.charged_cents_e6),
        )
        .where(r.account_id == account_id, r.day.in_(days))
        .group_by(r.account_id, r.day, r.user_email)
    )


async def refresh(session: AsyncSession, account_id: str, days: Iterable[dt.date]) -> int:
    """Recompute the rollups of ``days``; returns the number of rollup rows written."""
    ordered = sorted(set(days))
    written = 0
    for start in range(0, len(ordered), DAYS_PER_BATCH):
        batch = ordered[start : start + DAYS_PER_BATCH]
        await session.execute(
            delete(UsageRollup).where(
                UsageRollup.account_id == account_id, UsageRollup.day.in_(batch)
            )
        )
        result = await session.execute(
            insert(UsageRollup).from_select(_TARGET, _select(account_id, batch))
        )
        await session.execute(
            delete(UserDayRollup).where(
                UserDayRollup.account_id == account_id, UserDayRollup.day.in_(batch)
            )
        )
        await session.execute(
            insert(UserDayRollup).from_select(_USER_DAY, _user_days(account_id, batch))
        )
        written += max(0, int(getattr(result, "rowcount", 0) or 0))
    for month in sorted({day.replace(day=1) for day in ordered}):
        await _refresh_month(session, account_id, month)
    return written


# The sums the narrow rollups keep (and consumption reports).
NARROW_SUMS = (
    "events", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6",
)  # fmt: skip


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=31)).replace(day=1)


async def _refresh_month(session: AsyncSession, account_id: str, month: dt.date) -> None:
    """Re-sum a whole month from its (already rebuilt) daily usage rollups."""
    m, r = UserModelMonthRollup, UsageRollup
    await session.execute(delete(m).where(m.account_id == account_id, m.month == month))
    sums = [func.sum(getattr(r, name)) for name in NARROW_SUMS]
    source = (
        select(r.account_id, literal(month, Date), r.user_email, r.model, *sums)
        .where(r.account_id == account_id, r.day >= month, r.day < next_month(month))
        .group_by(r.account_id, r.user_email, r.model)
    )
    target = ["account_id", "month", "user_email", "model", *NARROW_SUMS]
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
        await session.execute(
            insert(RollupDirtyDay), [{"account_id": account_id, "day": day} for day in fresh]
        )


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
