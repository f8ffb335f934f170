"""``/mcp`` on the served app over real HTTP, spoken to by the SDK's streamable-HTTP client:
the bearer token picks the environment, and a bad one is the API's 401 envelope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.mcp.support import assert_same, call, refused
from tests.support.api import api_world
from tests.support.live import serve
from unimeter.app import create_app

TIMEOUT = dt.timedelta(seconds=60)  # a deadline, not a timing: a stuck server fails the test
RANGE = {"start_date": "2026-05-01", "end_date": "2026-06-15"}


async def test_mcp_over_http_is_scoped_by_the_bearer_token(
    sqlite_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api_world(sqlite_url, data_dir) as api:
        mine, theirs = api.accounts["default"], api.accounts["other"]
        via_api = (await api.get("/analytics/chargeback", integrated_account_id=mine,
                                 **RANGE)).json()  # fmt: skip
        tokens = dict(api.tokens)
    monkeypatch.setenv("UNIMETER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNIMETER_DATABASE_URL", sqlite_url)
    with serve(create_app()) as base:
        url = f"{base}/mcp"
        headers = {"Authorization": f"Bearer {tokens['default']}"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=60) as client,
            streamable_http_client(url, http_client=client) as (read, write, _),
            ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
        ):
            await session.initialize()
            listed = await call(session, "list_accounts")
            assert [a["id"] for a in listed["result"]] == [mine]
            charged = await call(session, "chargeback", integrated_account_id=mine, **RANGE)
            assert_same(via_api, charged)
            missing = await refused(session, "chargeback", integrated_account_id=theirs)
            assert "integrated account not found" in missing
            assert "idle_days" in await refused(
                session, "seats", integrated_account_id=mine, idle_days=0
            )

        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        accept = {"Accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient(timeout=60) as plain:
            for auth in ({}, {"Authorization": "Bearer umk_" + "x" * 40}):
                refusal = await plain.post(url, json=message, headers={**accept, **auth})
                assert refusal.status_code == 401
                body = refusal.json()
                assert body["statusCode"] == 401 and "API token" in body["message"]
