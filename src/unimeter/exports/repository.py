"""SQL for exports: server-side cursors, so an export of millions of rows stays small."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import DailyUsage, Member, SpendSnapshot, SpendSnapshotMember, UsageEvent

DAY_MS = 86_400_000
BATCH = 2000


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


async def _stream(session: AsyncSession, stmt: Select[Any]) -> AsyncIterator[Any]:
    result = await session.stream_scalars(stmt.execution_options(yield_per=BATCH))
    async for row in result:
        yield row


def events(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[UsageEvent]:
    stmt = select(UsageEvent).where(UsageEvent.account_id == account_id)
    if start is not None:
        stmt = stmt.where(UsageEvent.timestamp_ms >= _ms(start))
    if end is not None:
        stmt = stmt.where(UsageEvent.timestamp_ms < _ms(end) + DAY_MS)
    return _stream(session, stmt.order_by(UsageEvent.timestamp_ms, UsageEvent.id))


def daily_usage(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[DailyUsage]:
    stmt = select(DailyUsage).where(DailyUsage.account_id == account_id)
    if start is not None:
        stmt = stmt.where(DailyUsage.day >= start)
    if end is not None:
        stmt = stmt.where(DailyUsage.day <= end)
    return _stream(session, stmt.order_by(DailyUsage.day, DailyUsage.user_key))


def members(session: AsyncSession, account_id: str) -> AsyncIterator[Member]:
    stmt = select(Member).where(Member.account_id == account_id).order_by(Member.id)
    return _stream(session, stmt)


async def spend(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[tuple[SpendSnapshot, SpendSnapshotMember]]:
    stmt = (
        select(SpendSnapshot, SpendSnapshotMember)
        .join(SpendSnapshotMember, SpendSnapshotMember.snapshot_id == SpendSnapshot.id)
        .where(SpendSnapshot.account_id == account_id)
    )
    if start is not None:
        stmt = stmt.where(SpendSnapshot.taken_at >= _ms(start))
    if end is not None:
        stmt = stmt.where(SpendSnapshot.taken_at < _ms(end) + DAY_MS)
    stmt = stmt.order_by(SpendSnapshot.taken_at, SpendSnapshotMember.id)
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    async for snapshot, member in result:
        yield snapshot, member
