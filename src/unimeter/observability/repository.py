"""SQL behind the gauges: what the whole deployment is doing right now."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import (
    IntegratedAccount,
    NotificationDelivery,
    SyncLock,
    SyncRun,
    WebhookDelivery,
)


async def runs_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = (
        select(SyncRun.status, func.count())
        .where(SyncRun.status.in_(("queued", "running")))
        .group_by(SyncRun.status)
    )
    return {status: int(count) for status, count in (await session.execute(stmt)).all()}


async def accounts_by_status(session: AsyncSession) -> dict[str, int]:
    stmt = select(IntegratedAccount.status, func.count()).group_by(IntegratedAccount.status)
    return {status: int(count) for status, count in (await session.execute(stmt)).all()}


async def pending_deliveries(session: AsyncSession) -> int:
    stmt = select(func.count()).where(WebhookDelivery.status == "pending")
    return int(await session.scalar(stmt) or 0)


async def pending_notifications(session: AsyncSession) -> int:
    stmt = select(func.count()).where(NotificationDelivery.status == "pending")
    return int(await session.scalar(stmt) or 0)


async def stalest_heartbeat_ms(session: AsyncSession) -> int | None:
    """The oldest heartbeat of any held sync lock (epoch ms), or None when none is held."""
    value = await session.scalar(select(func.min(SyncLock.heartbeat_at)))
    return None if value is None else int(value)
