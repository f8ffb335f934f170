"""SQL for notification channels and their outbox of deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import NotificationChannel, NotificationDelivery
from unimeter.kit.cursors import Position

Channel = NotificationChannel
Delivery = NotificationDelivery


async def add_channel(session: AsyncSession, channel: Channel) -> Channel:
    session.add(channel)
    await session.flush()
    return channel


async def get_channel(
    session: AsyncSession, channel_id: str, environment_id: str | None = None
) -> Channel | None:
    stmt = select(Channel).where(Channel.id == channel_id)
    if environment_id is not None:
        stmt = stmt.where(Channel.environment_id == environment_id)
    return (await session.scalars(stmt)).first()


async def page_channels(
    session: AsyncSession, environment_id: str, position: Position | None, limit: int
) -> Sequence[Channel]:
    stmt = select(Channel).where(Channel.environment_id == environment_id)
    columns = [Channel.created_at, Channel.id]
    return (await session.scalars(keyset.apply(stmt, columns, position, limit))).all()


async def all_channels(session: AsyncSession) -> Sequence[Channel]:
    return (await session.scalars(select(Channel))).all()


async def active_channels(
    session: AsyncSession, environment_id: str | None = None
) -> Sequence[Channel]:
    """Active channels (of one environment, or all); callers filter by topic, since the
    topics are a JSON list."""
    stmt = select(Channel).where(Channel.is_active.is_(True)).order_by(Channel.id)
    if environment_id is not None:
        stmt = stmt.where(Channel.environment_id == environment_id)
    return (await session.scalars(stmt)).all()


async def delete_channel(session: AsyncSession, channel: Channel) -> None:
    await session.delete(channel)


async def add_deliveries(session: AsyncSession, deliveries: Sequence[Delivery]) -> None:
    session.add_all(deliveries)
    await session.flush()


def _insert_ignoring_duplicates(session: AsyncSession) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(Delivery).on_conflict_do_nothing()
    return sqlite_insert(Delivery).on_conflict_do_nothing()


async def add_unique_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows whose ``(channel_id, dedupe_key)`` is not taken yet; how many were new.
    Two processes queueing the same key at once: one row wins, the other is skipped."""
    added = 0
    for row in rows:
        stmt = _insert_ignoring_duplicates(session).values(**row).returning(Delivery.id)
        added += len((await session.execute(stmt)).all())
    return added


async def keys_taken(session: AsyncSession, dedupe_key: str) -> set[str]:
    """The channels that already have a delivery with this key."""
    stmt = select(Delivery.channel_id).where(Delivery.dedupe_key == dedupe_key)
    return set((await session.scalars(stmt)).all())


async def claim_due(
    session: AsyncSession, now: int, claim_until: int, limit: int
) -> list[tuple[Delivery, Channel]]:
    """Take up to ``limit`` due deliveries of active channels for this dispatcher
    (``SKIP LOCKED``: dispatchers in several processes share the outbox on PostgreSQL)."""
    stmt = (
        select(Delivery, Channel)
        .join(Channel, Channel.id == Delivery.channel_id)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            (Delivery.claimed_until.is_(None)) | (Delivery.claimed_until < now),
            Channel.is_active.is_(True),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    rows = [(delivery, channel) for delivery, channel in (await session.execute(stmt)).all()]
    for delivery, _ in rows:
        delivery.claimed_until = claim_until
    return rows


async def finish_attempt(
    session: AsyncSession, delivery_id: str, claimed_until: int | None, **values: Any
) -> bool:
    """Record an attempt on a delivery this dispatcher still holds; False when it no longer
    does (cancelled meanwhile, or its claim expired and another dispatcher took it)."""
    stmt = (
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.claimed_until == claimed_until,
        )
        .values(claimed_until=None, **values)
        .returning(Delivery.id)
    )
    return len((await session.execute(stmt)).all()) == 1


async def cancel_pending(session: AsyncSession, subject: str, at: int) -> int:
    stmt = (
        update(Delivery)
        .where(Delivery.subject == subject, Delivery.status == "pending")
        .values(status="cancelled", finished_at=at, claimed_until=None)
        .returning(Delivery.id)
    )
    return len((await session.execute(stmt)).all())


async def page_deliveries(
    session: AsyncSession, channel_id: str, position: Position | None, limit: int
) -> Sequence[Delivery]:
    stmt = select(Delivery).where(Delivery.channel_id == channel_id)
    columns = [Delivery.created_at, Delivery.id]
    return (
        await session.scalars(keyset.apply(stmt, columns, position, limit, descending=True))
    ).all()


async def pending_count(session: AsyncSession) -> int:
    stmt = select(func.count()).where(Delivery.status == "pending")
    return int(await session.scalar(stmt) or 0)
