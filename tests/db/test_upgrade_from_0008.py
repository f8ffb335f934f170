"""A store written by the 0008 release (before the connector contract and the usage facts)
upgrades with ``unimeter db upgrade`` and then answers exactly as a store synced at head:
users, usage at every grain, the analyses and exports.

The store is synced at head, then put back into the 0008 shape: ``alembic downgrade 0008``
restores that revision's schema, and its derived tables are rebuilt from the raw tables
with the SQL the 0008 release ran (``release_0008.py``), so the upgrade meets what that
release leaves on disk. The answers before (head) and after (upgraded) must be identical.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from tests.db.release_0008 import rebuild_derived_tables
from tests.support.api import ApiWorld, api_world
from tests.support.cli import CLI
from tests.support.world import world
from unimeter.app import create_app
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.db.engine import resolve_urls
from unimeter.db.migrate import alembic_config, current_revision

USERS = "/unified/usage-metering/users"
USAGE = "/unified/usage-metering/usage"
RANGE = {"start_date": "2026-04-20", "end_date": "2026-06-16"}
DIMS = [
    (), ("user",), ("model",), ("surface",), ("user", "model"), ("user", "surface"),
    ("model", "surface"), ("user", "model", "surface"),
]  # fmt: skip
COARSE_DIMS = [(), ("user",), ("user", "model"), ("model", "surface")]


def _usage_queries() -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = [
        {**RANGE, "granularity": "day", "group_by[]": list(dims)} for dims in DIMS
    ]
    queries += [
        {**RANGE, "granularity": granularity, "group_by[]": list(dims)}
        for granularity in ("week", "month", "total")
        for dims in COARSE_DIMS
    ]
    queries += [
        {**RANGE, "include_inactive": "true"},
        {"start_date": "2026-06-08", "end_date": "2026-06-11", "include_remote_data": "true"},
        {"start_date": "2026-06-08", "end_date": "2026-06-10", "include_remote_data": "true",
         "group_by[]": ["user", "model"]},
    ]  # fmt: skip
    return queries


ANALYSES: list[tuple[str, dict[str, Any]]] = [
    ("/analytics/seats", {}),
    ("/analytics/consumption", {**RANGE, "limit": 10000}),
    (
        "/analytics/consumption",
        {**RANGE, "group_by[]": ["user", "model"], "granularity": "day", "limit": 10000},
    ),
    ("/analytics/consumption", {**RANGE, "group_by[]": ["model"], "granularity": "month"}),
    (
        "/analytics/consumption",
        {**RANGE, "group_by[]": ["user"], "granularity": "week", "limit": 10000},
    ),
    ("/analytics/chargeback", {**RANGE}),
    ("/analytics/reconciliation", {}),
    ("/analytics/adoption", {**RANGE}),
    ("/analytics/audit", {}),
    ("/analytics/anomalies", {}),
]
EXPORTS: list[tuple[str, dict[str, Any]]] = [
    ("/exports/focus", {**RANGE}),
    ("/exports/consumption", {**RANGE, "group_by[]": ["user", "model"]}),
    ("/exports/chargeback", {**RANGE}),
]


async def _walk(client: Client, path: str, params: dict[str, Any]) -> list[Any]:
    rows: list[Any] = []
    cursor = None
    while True:
        page = await client.get(
            path, {"limit": 500, **params, **({"next_cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, (path, params, page.text)
        body = page.json()
        rows += body["result"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


class Client:
    def __init__(self, http: httpx.AsyncClient, token: str, account_id: str) -> None:
        self.http, self.token, self.account_id = http, token, account_id

    async def get(self, path: str, params: dict[str, Any]) -> httpx.Response:
        params = {"integrated_account_id": self.account_id, **params}
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.http.get(path, params=params, headers=headers)


async def _answers(client: Client) -> dict[str, Any]:
    answers: dict[str, Any] = {"users": await _walk(client, USERS, {})}
    for n, query in enumerate(_usage_queries()):
        answers[f"usage {n} {query}"] = await _walk(client, USAGE, query)
    # Usage rows by id, as a client that stored them would ask again.
    some = answers["usage 0 " + str(_usage_queries()[0])][:5]
    for row in some:
        got = await client.get(f"{USAGE}/{row['id']}", {})
        answers[f"usage by id {row['id']}"] = got.json()
    for path, params in ANALYSES:
        response = await client.get(path, params)
        assert response.status_code == 200, (path, response.text)
        answers[f"{path} {params}"] = response.json()
    for path, params in EXPORTS:
        response = await client.get(path, {**params, "format": "csv"})
        assert response.status_code == 200, (path, response.text)
        answers[f"{path} {params}"] = response.text
    return answers


@asynccontextmanager
async def _reopened(
    database_url: str, data_dir: Path, sim: SimulatedCursor, token: str, account_id: str
) -> AsyncIterator[Client]:
    """The API over an existing store (no linking, no sync, no migration on start)."""
    settings: dict[str, Any] = {"account_rate_limit": "off", "token_rate_limit": "off"}
    async with world(database_url, data_dir, sim=sim, auto_migrate=False, **settings) as w:
        app = create_app(w.runtime)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                yield Client(http, token, account_id)
        finally:
            await app.state.sync_dispatch.close()


def _tables(database_url: str) -> set[str]:
    engine = create_engine(resolve_urls(database_url).sync_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


async def test_a_0008_store_upgrades_and_answers_as_a_store_synced_at_head(
    database_url: str, data_dir: Path
) -> None:
    api: ApiWorld
    async with api_world(database_url, data_dir) as api:
        token, account_id = api.tokens["default"], api.accounts["default"]
        head = await _answers(Client(api.client, token, account_id))
    assert head["users"] and head["usage 0 " + str(_usage_queries()[0])]

    # Back to what the 0008 release leaves on disk.
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0008")
    await asyncio.to_thread(rebuild_derived_tables, database_url)
    tables = _tables(database_url)
    assert "usage_rollups" in tables and "usage_facts" not in tables

    cli = CLI(data_dir, database_url)
    upgraded = await asyncio.to_thread(cli, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    head_revision = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert current_revision(database_url) == head_revision
    assert "usage_rollups" not in _tables(database_url)

    async with _reopened(database_url, data_dir, api.sim, token, account_id) as client:
        after = await _answers(client)
    assert after.keys() == head.keys()
    for name in head:
        assert after[name] == head[name], name
