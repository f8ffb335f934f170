"""SQL of the adoption scorecards: daily rows per member, days with events, the roster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import DailyUsage, Member, UserDayRollup

from .repository import SeatHolder

ADOPTION_METRICS = (
    "tabs_shown", "tabs_accepted", "applies", "accepts", "agent_requests", "chat_requests",
    "composer_requests", "cmdk_requests",
)  # fmt: skip


async def member_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[Any, ...]]:
    """``(account, member id, email, day, active, *ADOPTION_METRICS)`` per daily row."""
    d = DailyUsage
    rows = await session.execute(
        select(
            d.account_id,
            d.member_id,
            d.email,
            d.day,
            d.is_active,
            *[getattr(d, name) for name in ADOPTION_METRICS],
        ).where(d.account_id.in_(account_ids), d.day >= start, d.day < end)
    )
    return [tuple(row) for row in rows.all()]


async def event_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[str, str, dt.date]]:
    """``(account, user, day)`` for each day a user has usage events."""
    r = UserDayRollup
    rows = await session.execute(
        select(r.account_id, r.user_email, r.day).where(
            r.account_id.in_(account_ids), r.user_email != "", r.day >= start, r.day < end
        )
    )
    return [(a, u, day) for a, u, day in rows.all()]


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
