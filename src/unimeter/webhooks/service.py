"""Webhook endpoints and publishing events into the outbox.

:func:`publish` takes the caller's session: the delivery rows commit (or roll back) with
the change they report, which is what makes delivery survive a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.models import Webhook, WebhookDelivery
from unimeter.kit.crypto import MasterKey, decrypt, encrypt, rewrap
from unimeter.runtime import Runtime

from . import repository
from .signing import generate_secret


def event_body(event_type: str, data: dict[str, Any], at_ms: int) -> str:
    timestamp = dt.datetime.fromtimestamp(at_ms / 1000, tz=dt.UTC)
    payload = {"type": event_type, "timestamp": timestamp.isoformat(), "data": data}
    return orjson.dumps(payload).decode()


# Others that queue their own messages for the same events (notifications), registered by
# the composition root: webhooks imports no other service, and every caller of ``publish``
# (domains, the sync engine's hook) reaches them in the same transaction.
PublishListener = Callable[[AsyncSession, str, str, dict[str, Any]], Awaitable[object]]
_listeners: list[PublishListener] = []


def add_listener(listener: PublishListener) -> None:
    """Call ``listener(session, environment_id, event_type, data)`` on every broadcast
    :func:`publish` (not on a test sent to one webhook); registering twice is a no-op."""
    if listener not in _listeners:
        _listeners.append(listener)


def subscribed(webhook: Webhook, event_type: str) -> bool:
    return not webhook.event_types or event_type in webhook.event_types


async def publish(
    session: AsyncSession,
    environment_id: str,
    event_type: str,
    data: dict[str, Any],
    *,
    to: Sequence[Webhook] | None = None,
) -> list[WebhookDelivery]:
    """Queue ``event_type`` for every active, subscribed webhook of the environment (or for
    the webhooks in ``to``), in the caller's transaction."""
    now = now_ms()
    body = event_body(event_type, data, now)
    targets = to if to is not None else await repository.active_webhooks(session, environment_id)
    deliveries = [
        WebhookDelivery(
            id=new_id("msg"),
            webhook_id=webhook.id,
            event_type=event_type,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for webhook in targets
        if to is not None or subscribed(webhook, event_type)
    ]
    if deliveries:
        await repository.add_deliveries(session, deliveries)
    if to is None:
        for listener in _listeners:
            await listener(session, environment_id, event_type, data)
    return deliveries


async def create_webhook(
    runtime: Runtime,
    environment_id: str,
    *,
    url: str,
    event_types: list[str],
    is_active: bool,
) -> tuple[Webhook, str]:
    """The new webhook and its signing secret, which is returned only this once."""
    secret = generate_secret()
    webhook_id = new_id("whk")
    async with runtime.db.session() as session:
        webhook = Webhook(
            id=webhook_id,
            environment_id=environment_id,
            url=url,
            event_types=sorted(set(event_types)),
            is_active=is_active,
            secret=encrypt(runtime.key.key, secret, aad=webhook_id),
        )
        return await repository.add_webhook(session, webhook), secret


async def update_webhook(
    runtime: Runtime,
    webhook_id: str,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    is_active: bool | None = None,
) -> Webhook | None:
    async with runtime.db.session() as session:
        webhook = await repository.get_webhook(session, webhook_id)
        if webhook is None:
            return None
        if url is not None:
            webhook.url = url
        if event_types is not None:
            webhook.event_types = sorted(set(event_types))
        if is_active is not None:
            webhook.is_active = is_active
            if is_active:
                webhook.disabled_reason = None
        webhook.updated_at = now_ms()
        return webhook


async def delete_webhook(runtime: Runtime, webhook_id: str) -> bool:
    async with runtime.db.session() as session:
        webhook = await repository.get_webhook(session, webhook_id)
        if webhook is None:
            return False
        await repository.delete_webhook(session, webhook)
        return True


async def send_test(runtime: Runtime, webhook: Webhook) -> WebhookDelivery:
    """Queue a ``webhook:test`` event for this webhook alone, whatever it subscribes to."""
    data = {"webhook_id": webhook.id, "message": "a test event from unimeter"}
    async with runtime.db.session() as session:
        (delivery,) = await publish(
            session, webhook.environment_id, "webhook:test", data, to=[webhook]
        )
        return delivery


def secret_of(runtime: Runtime, webhook: Webhook) -> str:
    return decrypt(runtime.key.key, webhook.secret, aad=webhook.id)


async def rewrap_secrets(session: AsyncSession, old: MasterKey, new: MasterKey) -> None:
    """Re-encrypt every signing secret under a new master key (``unimeter keys rotate``)."""
    for webhook in await repository.all_webhooks(session):
        webhook.secret = rewrap(webhook.secret, aad=webhook.id, old=old, new=new)
