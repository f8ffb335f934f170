"""SQL of the adoption scorecards: daily sums and active days per member, days with events
per user, the roster. A covering index on ``daily_usage`` holds every column read here, so a period
is a scan of a compact range of that index, not of the wide rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import DailyUsage, Member, UserDayRollup
from unimeter.db.models.usage import ADOPTION_METRICS as ADOPTION_METRICS
from unimeter.db.periods import day_list, parse_day_list

from .repository import SeatHolder


async def member_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[Any, ...]]:
    """``(account, member id, email, active days, *ADOPTION_METRICS)`` per (member id,
    email) pair of the daily rows: the days marked active, and the counters summed."""
    d = DailyUsage
    key = (d.account_id, d.member_id, d.email)
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(*key, day_list(dialect, d.day, d.is_active.is_(True)),
               *[func.sum(getattr(d, name)) for name in ADOPTION_METRICS])
        .where(d.account_id.in_(account_ids), d.day >= start, d.day < end)
        .group_by(*key)
    )  # fmt: skip
    return [(a, m, e, parse_day_list(days), *v) for a, m, e, days, *v in rows.all()]


async def event_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[str, str, set[dt.date]]]:
    """``(account, user, days)``: the days each user has usage events."""
    r = UserDayRollup
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(r.account_id, r.user_email, day_list(dialect, r.day))
        .where(r.account_id.in_(account_ids), r.user_email != "", r.day >= start, r.day < end)
        .group_by(r.account_id, r.user_email)
    )
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
