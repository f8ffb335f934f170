"""Helpers for the notification tests: an API world with a dispatcher, and API shortcuts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.api import ApiWorld, api_world
from tests.webhooks.receiver import Receiver
from unimeter.notifications.dispatcher import NotificationDispatcher

from .smtp import PASSWORD, USER, Mailbox


@asynccontextmanager
async def notify_world(
    database_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[tuple[ApiWorld, NotificationDispatcher]]:
    """An API world that may send to loopback, and a dispatcher the test drives with
    ``dispatch_once`` (the in-process app runs no background sender)."""
    settings = {"allow_private_webhooks": True, "synced": False, **settings}
    async with api_world(database_url, data_dir, **settings) as api:
        dispatcher = NotificationDispatcher(api.world.runtime)
        try:
            yield api, dispatcher
        finally:
            await dispatcher.aclose()


async def drain(dispatcher: NotificationDispatcher) -> int:
    """Send until nothing is due now; how many attempts were made."""
    total = 0
    while sent := await dispatcher.dispatch_once():
        total += sent
    return total


async def create_channel(api: ApiWorld, *, env: str = "default", **fields: Any) -> dict[str, Any]:
    response = await api.client.post("/notification-channels", json=fields, headers=api.auth(env))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def slack_channel(
    api: ApiWorld, receiver: Receiver, path: str, topics: list[str], **fields: Any
) -> dict[str, Any]:
    return await create_channel(
        api,
        name="team slack",
        kind="slack",
        slack={"webhook_url": receiver.url + path},
        topics=topics,
        **fields,
    )


async def email_channel(
    api: ApiWorld, box: Mailbox, topics: list[str], **fields: Any
) -> dict[str, Any]:
    smtp = {
        "host": box.host,
        "port": box.port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "sender": "unimeter@example.com",
        "recipients": ["finops@example.com", "cto@example.com"],
    }
    return await create_channel(
        api, name="finops mail", kind="email", email=smtp, topics=topics, **fields
    )


async def deliveries(api: ApiWorld, channel_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/notification-channels/{channel_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]


def slack_bodies(receiver: Receiver, path: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received(path)]
