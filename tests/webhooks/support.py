"""Helpers for the webhook tests: an API world with a dispatcher, and API shortcuts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.api import ApiWorld, api_world
from unimeter.webhooks.dispatcher import WebhookDispatcher


@asynccontextmanager
async def hook_world(
    database_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[tuple[ApiWorld, WebhookDispatcher]]:
    """An API world that may send webhooks to loopback, and a dispatcher the test drives
    with ``dispatch_once`` (the in-process app runs no background sender)."""
    settings = {"allow_private_webhooks": True, "synced": False, **settings}
    async with api_world(database_url, data_dir, **settings) as api:
        dispatcher = WebhookDispatcher(api.world.runtime)
        try:
            yield api, dispatcher
        finally:
            await dispatcher.aclose()


async def drain(dispatcher: WebhookDispatcher) -> int:
    """Send until nothing is due now; how many attempts were made."""
    total = 0
    while sent := await dispatcher.dispatch_once():
        total += sent
    return total


async def create_hook(
    api: ApiWorld, url: str, *, env: str = "default", **fields: Any
) -> dict[str, Any]:
    response = await api.client.post(
        "/webhooks", json={"url": url, **fields}, headers=api.auth(env)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliveries(api: ApiWorld, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get(f"/webhooks/{webhook_id}/deliveries", **params)
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]
