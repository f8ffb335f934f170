"""Property-based checks over /openapi.json: no 5xx, and every response fits the schema.

The API runs as a real uvicorn server with its own event loop (as ``unimeter serve``
would), on a store holding a synced simulated team.
"""

from __future__ import annotations

import asyncio
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.databases import SQLiteDatabases
from tests.support.live import serve
from tests.support.world import make_sim
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import create_app, open_runtime
from unimeter.auth.service import create_token
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import create_app as simulator_app
from unimeter.sync.service import sync_account

ENV = {
    "UNIMETER_ALLOW_PRIVATE_URLS": "1",
    "UNIMETER_ACCOUNT_RATE_LIMIT": "off",
    "UNIMETER_TOKEN_RATE_LIMIT": "off",
    "UNIMETER_CURSOR_MINUTE_SECONDS": "0.01",
}


async def _prepare(settings: Settings, cursor_url: str, key: str) -> tuple[str, str]:
    runtime = await open_runtime(settings)
    try:
        account = await link_account(
            runtime, LinkRequest("cursor", key, tenant_id="t", base_url=cursor_url)
        )
        await sync_account(runtime, account.id)
        return (await create_token(runtime))[1], account.id
    finally:
        await runtime.close()


@pytest.fixture(scope="module")
def served_api(
    sqlite_databases: SQLiteDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    url = sqlite_databases.create()
    sim = make_sim(users=12, days=20)
    saved = {k: os.environ.get(k) for k in (*ENV, "UNIMETER_DATA_DIR", "UNIMETER_DATABASE_URL")}
    os.environ.update({**ENV, "UNIMETER_DATA_DIR": str(data_dir), "UNIMETER_DATABASE_URL": url})
    try:
        with serve(simulator_app(sim)) as cursor_url:
            token, account = asyncio.run(_prepare(Settings(), cursor_url, sim.keys[0]))
            with serve(create_app()) as base_url:
                yield {
                    "base_url": base_url,
                    "token": token,
                    "account": account,
                    "cursor_url": cursor_url,
                }
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


EXAMPLES_PER_OPERATION = 25


def test_no_server_errors_and_responses_match_the_schema(served_api: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_url(served_api["base_url"] + "/openapi.json")
    headers = {"Authorization": f"Bearer {served_api['token']}"}
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails the test
        if operation.method.upper() in ("DELETE", "PATCH", "PUT"):
            continue  # writes would delete or change the one account the others read

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,  # the same cases on every run, so CI results reproduce
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            # Half the cases aim at the real account, so routes get past a random id's 404.
            query = case.query
            if (
                query is not None
                and "integrated_account_id" in query
                and zlib.crc32(str(query).encode()) % 2
            ):
                query["integrated_account_id"] = served_api["account"]
            if isinstance(case.body, dict) and case.path == "/integrated-accounts":
                case.body["base_url"] = served_api[
                    "cursor_url"
                ]  # offline: only the simulator answers
            response = case.call(base_url=served_api["base_url"], headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
                )
                return
            try:
                case.validate_response(
                    response, checks=[schemathesis.checks.response_schema_conformance]
                )
            except AssertionError as exc:  # schemathesis reports a broken response this way
                failures.append(f"{case.method} {case.formatted_path}: {str(exc)[:300]}")

        exercise()
        checked += 1
    assert checked >= 10, "every read operation was exercised"
    assert not failures, "\n".join(failures[:10])
