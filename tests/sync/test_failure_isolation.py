"""A stream that fails ends the run with nothing of it still running: no other stream keeps
writing after the run closed and released the account's lock, and cancelling them leaves the
store usable (no SQLite lock held by a unit of work cut in half)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import httpx
import pytest

from tests.support.world import FAST_RETRY, SIM_BASE_URL, make_sim
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import create_app
from unimeter.connectors.errors import SourceUnavailableError
from unimeter.connectors.registration import default_registry
from unimeter.sync.service import sync_account


class SpendDownEventsStuck(httpx.AsyncBaseTransport):
    """Cursor, except that spend answers 500 for ever and usage events never answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.stuck = 0
        self._events_stuck = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/teams/spend":
            # Fail only once the events stream is stuck, so the failure has a sibling to
            # cancel however the two streams are scheduled (bounded: the test then fails
            # on its own assertion instead of hanging).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._events_stuck.wait(), timeout=60)
            return httpx.Response(500, json={"error": "Internal Server Error", "message": "x"})
        probe = json.loads(request.content or b"{}").get("pageSize") == 1
        if request.url.path == "/teams/filtered-usage-events" and not probe:
            self.stuck += 1
            self._events_stuck.set()
            await asyncio.Event().wait()  # until cancelled
        return await self.inner.handle_async_request(request)


async def test_a_failed_stream_leaves_no_other_stream_running(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim()
    transport = SpendDownEventsStuck(httpx.ASGITransport(app=create_app(sim)))
    connector = CursorConnector(minute_seconds=0.05, transport=transport, retry=FAST_RETRY)
    # A unit of work cut by the cancellation used to leave SQLite locked: with a short busy
    # timeout that shows as "database is locked" within seconds instead of a minute.
    settings = Settings(data_dir=data_dir, database_url=database_url, sqlite_busy_timeout_ms=3000)
    runtime = await open_runtime(
        settings, registry=default_registry(connector), clock=sim.clock.now_ms
    )
    try:
        request = LinkRequest(integration="cursor", credentials=sim.keys[0], base_url=SIM_BASE_URL)
        account_id = (await link_account(runtime, request)).id
        before = asyncio.all_tasks()
        with pytest.raises(SourceUnavailableError, match="500"):
            await sync_account(runtime, account_id)
        assert transport.stuck >= 1, "the events stream was running when spend failed"
        left = [t for t in asyncio.all_tasks() - before if not t.done()]
        assert left == [], left
    finally:
        await runtime.close()
