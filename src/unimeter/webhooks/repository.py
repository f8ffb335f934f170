"""SQL for webhooks, their deliveries (the outbox) and delivery attempts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import Webhook, WebhookAttempt, WebhookDelivery
from unimeter.kit.cursors import Position


async def add_webhook(session: AsyncSession, webhook: Webhook) -> Webhook:
    session.add(webhook)
    await session.flush()
    return webhook


async def get_webhook(
    session: AsyncSession, webhook_id: str, environment_id: str | None = None
) -> Webhook | None:
    stmt = select(Webhook).where(Webhook.id == webhook_id)
    if environment_id is not None:
        stmt = stmt.where(Webhook.environment_id == environment_id)
    return (await session.scalars(stmt)).first()


async def page_webhooks(
    session: AsyncSession, environment_id: str, position: Position | None, limit: int
) -> Sequence[Webhook]:
    stmt = select(Webhook).where(Webhook.environment_id == environment_id)
    columns = [Webhook.created_at, Webhook.id]
    return (await session.scalars(keyset.apply(stmt, columns, position, limit))).all()


async def all_webhooks(session: AsyncSession) -> Sequence[Webhook]:
    return (await session.scalars(select(Webhook))).all()


async def active_webhooks(session: AsyncSession, environment_id: str) -> Sequence[Webhook]:
    stmt = select(Webhook).where(
        Webhook.environment_id == environment_id, Webhook.is_active.is_(True)
    )
    return (await session.scalars(stmt)).all()


async def delete_webhook(session: AsyncSession, webhook: Webhook) -> None:
    await session.delete(webhook)


async def add_deliveries(session: AsyncSession, deliveries: list[WebhookDelivery]) -> None:
    session.add_all(deliveries)
    await session.flush()


async def claim_due(
    session: AsyncSession, now: int, claim_until: int, limit: int
) -> list[tuple[WebhookDelivery, Webhook]]:
    """Take up to ``limit`` due deliveries of active webhooks for this dispatcher.

    ``SKIP LOCKED`` lets dispatchers in several processes share the outbox on PostgreSQL
    without waiting on each other; SQLite serialises writers anyway.
    """
    stmt = (
        select(WebhookDelivery, Webhook)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now),
            Webhook.is_active.is_(True),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    rows = [(delivery, webhook) for delivery, webhook in (await session.execute(stmt)).all()]
    for delivery, _ in rows:
        delivery.claimed_until = claim_until
    return rows


async def get_delivery(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id, populate_existing=True)


async def add_attempt(session: AsyncSession, attempt: WebhookAttempt) -> None:
    session.add(attempt)


async def update_delivery(session: AsyncSession, delivery_id: str, **values: Any) -> None:
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**values)
    )


async def page_deliveries(
    session: AsyncSession,
    webhook_id: str,
    status: str | None,
    position: Position | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    columns = [WebhookDelivery.created_at, WebhookDelivery.id]
    return (
        await session.scalars(keyset.apply(stmt, columns, position, limit, descending=True))
    ).all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[WebhookAttempt]]:
    out: dict[str, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return out
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
    )
    for attempt in await session.scalars(stmt):
        out[attempt.delivery_id].append(attempt)
    return out


async def pending_count(session: AsyncSession) -> int:
    stmt = select(func.count()).where(WebhookDelivery.status == "pending")
    return int(await session.scalar(stmt) or 0)
