"""Notification channels (CRUD, encrypted secrets) and queueing their deliveries.

:func:`enqueue` takes the caller's session: it runs inside ``webhooks.publish`` (the
composition root registers it there), so a message is queued in the transaction of the
event it reports and commits or rolls back with it.

Reminders: an anomaly is sent once, when it is detected. While it stays open it is listed
in every weekly digest; acknowledging or resolving it cancels whatever is still queued about
it (a message waiting for a retry) and drops it from the next digest.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.models import NotificationChannel, NotificationDelivery
from unimeter.kit.crypto import MasterKey, decrypt, encrypt, rewrap
from unimeter.kit.money import CENTS_E6_PER_DOLLAR, parse_dollars
from unimeter.kit.netpolicy import URLRefusedError
from unimeter.runtime import Runtime

from . import repository
from .schemas import ChannelCreate, ChannelUpdate, EmailInput, EmailUpdate, SlackInput
from .topics import EVENT_TOPICS

PASSWORD_HINT = "password set"


class ChannelError(ValueError):
    """A channel's settings cannot be used as given (the message says which and why)."""


def check_smtp_host(runtime: Runtime, host: str, port: int, *, resolve: bool = True) -> None:
    """The same policy for an SMTP server: no metadata service, no private address unless
    opted in (the URL is only a vehicle for the host)."""
    runtime.checked_callback_url(f"http://{host}:{port}", resolve=resolve)


def _slack(runtime: Runtime, slack: SlackInput) -> tuple[str, str]:
    """The checked webhook URL and its hint (scheme, host and the last four characters)."""
    try:
        url = runtime.checked_callback_url(slack.webhook_url.get_secret_value())
    except URLRefusedError as exc:
        raise ChannelError(f"slack.webhook_url: {exc}") from None
    parts = urlsplit(url)
    return url, f"{parts.scheme}://{parts.hostname}/…{url[-4:]}"


def _email(runtime: Runtime, email: EmailInput) -> dict[str, Any]:
    try:
        check_smtp_host(runtime, email.host, email.port)
    except URLRefusedError as exc:
        raise ChannelError(f"email.host: {exc}") from None
    return email.model_dump(exclude={"password"})


def min_impact(text: str) -> int:
    try:
        return parse_dollars(text)
    except ValueError as exc:
        raise ChannelError(f"min_anomaly_impact: {exc}") from None


def _plain(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


def _seal(runtime: Runtime, channel: NotificationChannel, secret: str | None, hint: str) -> None:
    channel.secret = None if secret is None else encrypt(runtime.key.key, secret, aad=channel.id)
    channel.secret_hint = None if secret is None else hint


async def create_channel(
    runtime: Runtime, environment_id: str, body: ChannelCreate
) -> NotificationChannel:
    channel = NotificationChannel(
        id=new_id("chn"),
        environment_id=environment_id,
        name=body.name,
        kind=body.kind,
        topics=sorted(set(body.topics)),
        min_anomaly_cents_e6=min_impact(body.min_anomaly_impact),
        is_active=body.is_active,
        settings={},
    )
    if body.slack is not None:
        url, hint = _slack(runtime, body.slack)
        _seal(runtime, channel, url, hint)
    elif body.email is not None:
        channel.settings = _email(runtime, body.email)
        _seal(runtime, channel, _plain(body.email.password), PASSWORD_HINT)
    async with runtime.db.session() as session:
        return await repository.add_channel(session, channel)


def _merged_email(channel: NotificationChannel, update: EmailUpdate) -> tuple[EmailInput, bool]:
    """The channel's SMTP settings with ``update`` applied, and whether the password changed."""
    given = update.model_dump(exclude_unset=True)
    current = {**(channel.settings or {}), **{k: v for k, v in given.items() if k != "password"}}
    merged = EmailInput.model_validate({**current, "password": update.password})
    return merged, "password" in given


async def update_channel(
    runtime: Runtime, channel_id: str, body: ChannelUpdate
) -> NotificationChannel | None:
    async with runtime.db.session() as session:
        channel = await repository.get_channel(session, channel_id)
        if channel is None:
            return None
        if body.slack is not None or body.email is not None:
            _update_settings(runtime, channel, body)
        if body.name is not None:
            channel.name = body.name
        if body.topics is not None:
            channel.topics = sorted(set(body.topics))
        if body.min_anomaly_impact is not None:
            channel.min_anomaly_cents_e6 = min_impact(body.min_anomaly_impact)
        if body.is_active is not None:
            channel.is_active = body.is_active
        channel.updated_at = now_ms()
        return channel


def _update_settings(runtime: Runtime, channel: NotificationChannel, body: ChannelUpdate) -> None:
    wanted = "slack" if body.slack is not None else "email"
    if wanted != channel.kind or (body.slack is not None and body.email is not None):
        raise ChannelError(f"a {channel.kind} channel takes only '{channel.kind}' settings")
    if body.slack is not None:
        url, hint = _slack(runtime, body.slack)
        _seal(runtime, channel, url, hint)
        return
    assert body.email is not None
    merged, new_password = _merged_email(channel, body.email)
    channel.settings = _email(runtime, merged)
    if new_password:
        _seal(runtime, channel, _plain(merged.password), PASSWORD_HINT)


async def delete_channel(runtime: Runtime, channel_id: str) -> bool:
    async with runtime.db.session() as session:
        channel = await repository.get_channel(session, channel_id)
        if channel is None:
            return False
        await repository.delete_channel(session, channel)
        return True


def secret_of(runtime: Runtime, channel: NotificationChannel) -> str | None:
    if channel.secret is None:
        return None
    return decrypt(runtime.key.key, channel.secret, aad=channel.id)


async def rewrap_secrets(session: AsyncSession, old: MasterKey, new: MasterKey) -> None:
    """Re-encrypt every channel secret under a new master key (``unimeter keys rotate``)."""
    for channel in await repository.all_channels(session):
        if channel.secret is not None:
            channel.secret = rewrap(channel.secret, aad=channel.id, old=old, new=new)


# --- queueing ------------------------------------------------------------------------------


def subscribed(channel: NotificationChannel, topic: str) -> bool:
    return topic in (channel.topics or [])


def impact_cents_e6(data: dict[str, Any]) -> int | None:
    """An anomaly's dollar impact: its excess cost over the usual (else its cost)."""
    details = data.get("details") or {}
    amount = details.get("excess_cost", details.get("cost"))
    if amount is None:
        return None
    try:
        return int(Decimal(str(amount)) * CENTS_E6_PER_DOLLAR)
    except (InvalidOperation, ValueError):
        return None


def _wanted(channel: NotificationChannel, topic: str, data: dict[str, Any]) -> bool:
    if not subscribed(channel, topic):
        return False
    if topic != "anomaly" or not channel.min_anomaly_cents_e6:
        return True
    impact = impact_cents_e6(data)
    return impact is not None and impact >= channel.min_anomaly_cents_e6


def _delivery(
    channel_id: str, topic: str, payload: dict[str, Any], subject: str | None, at: int
) -> NotificationDelivery:
    return NotificationDelivery(
        id=new_id("ntf"),
        channel_id=channel_id,
        topic=topic,
        subject=subject,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )


async def enqueue(
    session: AsyncSession, environment_id: str, event_type: str, data: dict[str, Any]
) -> list[NotificationDelivery]:
    """Queue a message about the event for every active channel subscribed to its topic,
    in the caller's transaction. Events no topic hears cost nothing."""
    topic = EVENT_TOPICS.get(event_type)
    if topic is None:
        return []
    channels = await repository.active_channels(session, environment_id)
    at = now_ms()
    subject = str(data["id"]) if data.get("id") is not None else None
    payload = {"event": event_type, "data": data}
    deliveries = [
        _delivery(c.id, topic, payload, subject, at) for c in channels if _wanted(c, topic, data)
    ]
    if deliveries:
        await repository.add_deliveries(session, deliveries)
    return deliveries


async def cancel_about(session: AsyncSession, subject: str) -> int:
    """Cancel what is still queued about ``subject`` (an anomaly acknowledged or resolved)."""
    return await repository.cancel_pending(session, subject, now_ms())


async def send_test(runtime: Runtime, channel: NotificationChannel) -> NotificationDelivery:
    """Queue a test message to this channel alone, whatever it subscribes to."""
    at = now_ms()
    delivery = _delivery(channel.id, "test", {"channel_name": channel.name}, None, at)
    async with runtime.db.session() as session:
        await repository.add_deliveries(session, [delivery])
    return delivery


async def queue_digest(
    runtime: Runtime,
    channels: Sequence[NotificationChannel],
    digest: dict[str, Any],
    *,
    dedupe_key: str | None,
) -> int:
    """Queue ``digest`` to ``channels``; with a key, once per channel and key however many
    processes try (the unique ``(channel_id, dedupe_key)``). How many were queued."""
    at = now_ms()
    rows = [
        {
            "id": new_id("ntf"),
            "channel_id": c.id,
            "topic": "digest",
            "subject": None,
            "dedupe_key": dedupe_key,
            "payload": {"data": digest},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for c in channels
    ]
    async with runtime.db.session() as session:
        return await repository.add_unique_deliveries(session, rows)
