"""A revoked key: the account pauses, says so once, and costs Cursor no further calls.

The simulator is restarted on the same port without the account's key (as if the customer
revoked it), then restarted with it again, and the key is restored through PATCH.
"""

from __future__ import annotations

import base64
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.live import serve
from tests.support.world import FAST_RETRY, make_sim
from unimeter.app import create_app, open_runtime
from unimeter.auth.service import create_token
from unimeter.config import Settings
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.cursor.simulator import create_app as create_simulator
from unimeter.connectors.registration import default_registry
from unimeter.runtime import Runtime
from unimeter.sync.scheduling.scheduler import Scheduler
from unimeter.webhooks.dispatcher import WebhookDispatcher

REVOKED = "crsr_" + "7" * 64
OTHER = "crsr_" + "8" * 64


class CountingCursor:
    """The simulator behind a counter of every request, by API key, rejected ones included."""

    def __init__(self, sim: SimulatedCursor) -> None:
        self.app = create_simulator(sim)
        self.calls: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"")
            token = header.removeprefix(b"Basic ").strip()
            key = base64.b64decode(token).decode().rstrip(":") if token else ""
            self.calls[key] += 1
        await self.app(scope, receive, send)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def cursor(port: int, *keys: str) -> Iterator[CountingCursor]:
    counting = CountingCursor(make_sim(api_keys=keys, users=6, days=10))
    with serve(counting, port=port):
        yield counting


@contextmanager
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    events: list[dict[str, Any]] = []

    async def hook(request: Request) -> Response:
        events.append(orjson.loads(await request.body()))
        return Response(status_code=204)

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield url + "/hook", events


@asynccontextmanager
async def unimeter(database_url: str, data_dir: Path, clock: Any) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        allow_private_urls=True,
        allow_private_webhooks=True,
    )
    connector = CursorConnector(minute_seconds=0.05, retry=FAST_RETRY)
    runtime = await open_runtime(settings, registry=default_registry(connector), clock=clock)
    try:
        yield runtime
    finally:
        await runtime.close()


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_revoked_key_pauses_the_account_until_patched(
    database_url: str, data_dir: Path
) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    clock = make_sim().clock  # a frozen clock the test moves by hand
    with receiver() as (hook_url, events):
        async with unimeter(database_url, data_dir, clock.now_ms) as runtime:
            app = create_app(runtime)
            scheduler = Scheduler(app.state.sync_dispatch, tick_seconds=1)
            webhooks = WebhookDispatcher(runtime)
            token = (await create_token(runtime, "default"))[1]
            auth = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://um") as api:
                created = await api.post("/webhooks", json={"url": hook_url}, headers=auth)
                assert created.status_code == 201, created.text

                with cursor(port, REVOKED, OTHER):
                    body = {"integration": "cursor", "credentials": {"api_key": REVOKED},
                            "tenant_id": "t1", "base_url": base_url}  # fmt: skip
                    linked = await api.post("/integrated-accounts", json=body, headers=auth)
                    assert linked.status_code == 201, linked.text
                    account_id = linked.json()["id"]
                    assert [r.status for r in await _tick(scheduler)] == ["queued"]

                # The customer revokes the key: the simulator comes back without it.
                with cursor(port, OTHER) as revoked:
                    clock.advance(hours=2)
                    await _tick(scheduler)
                    account = await api.get(f"/integrated-accounts/{account_id}", headers=auth)
                    assert account.json()["status"] == "needs_reauth"
                    assert account.json()["next_sync_at"] is None
                    calls_at_401 = revoked.calls[REVOKED]
                    assert calls_at_401 >= 1

                    # Nothing reaches Cursor for this account any more, however it is asked.
                    for _ in range(3):
                        clock.advance(hours=2)
                        assert await _tick(scheduler) == []
                    refused = await api.post(
                        f"/integrated-accounts/{account_id}/sync", headers=auth
                    )
                    assert refused.status_code == 409
                    proxied = await api.get(
                        "/proxy/cursor/teams/members",
                        params={"integrated_account_id": account_id},
                        headers=auth,
                    )
                    assert proxied.status_code == 401
                    assert "needs new credentials" in proxied.json()["message"]
                    live = await api.get(
                        "/unified/usage-metering/users",
                        params={"integrated_account_id": account_id, "mode": "live"},
                        headers=auth,
                    )
                    assert live.status_code == 401
                    assert revoked.calls[REVOKED] == calls_at_401

                    await webhooks.dispatch_once()
                    assert _types(events).count("integrated_account:authentication_error") == 1
                    failed = [e for e in events if e["type"] == "sync_run:failed"]
                    assert len(failed) == 1 and "401" in (failed[0]["data"]["error"] or "")

                # The key works again; the customer re-submits it through PATCH.
                with cursor(port, REVOKED, OTHER) as restored:
                    patch = {"credentials": {"api_key": REVOKED}}
                    patched = await api.patch(
                        f"/integrated-accounts/{account_id}", json=patch, headers=auth
                    )
                    assert patched.status_code == 200, patched.text
                    assert patched.json()["status"] == "active"
                    resumed = await _tick(scheduler)
                    assert [r.account_id for r in resumed] == [account_id]
                    runs = (await api.get("/sync-runs", headers=auth)).json()["result"]
                    assert runs[0]["status"] == "succeeded"
                    assert restored.calls[REVOKED] > 0

                    await webhooks.dispatch_once()
                    after = _types(events)
                    assert after.count("integrated_account:reactivated") == 1
                    assert after.count("integrated_account:authentication_error") == 1
            await webhooks.aclose()
            await app.state.sync_dispatch.close()


async def _tick(scheduler: Scheduler) -> list[Any]:
    runs = await scheduler.tick()
    await scheduler.dispatch.wait_idle()
    return runs
