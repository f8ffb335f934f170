"""Environment isolation on every route, authentication, and the error envelope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.api import api_world

ENVELOPE_KEYS = {"statusCode", "error", "message"}


def _routes(account: str) -> list[tuple[str, str, dict[str, object]]]:
    q = {"integrated_account_id": account}
    return [
        ("GET", f"/integrated-accounts/{account}", {}),
        ("PATCH", f"/integrated-accounts/{account}", {"json": {"name": "x"}}),
        ("DELETE", f"/integrated-accounts/{account}", {}),
        ("POST", f"/integrated-accounts/{account}/sync", {}),
        ("GET", "/sync-runs", {"params": q}),
        ("GET", "/unified/usage-metering/users", {"params": q}),
        ("GET", "/unified/usage-metering/users/user_x", {"params": q}),
        ("GET", "/unified/usage-metering/usage", {"params": q}),
        ("GET", "/unified/usage-metering/usage/usg_x", {"params": q}),
        ("GET", "/proxy/cursor/teams/members", {"params": q}),
        ("POST", "/proxy/cursor/teams/spend", {"params": q, "json": {}}),
    ]


async def test_another_environment_sees_nothing(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        foreign = api.accounts["other"]
        for method, path, extra in _routes(foreign):
            response = await api.client.request(method, path, headers=api.auth("default"), **extra)  # type: ignore[arg-type]
            assert response.status_code == 404, (method, path, response.text)
            assert set(response.json()) >= ENVELOPE_KEYS
        # And the lists of one environment hold none of the other's records.
        mine = (await api.get("/integrated-accounts", env="default")).json()["result"]
        assert {a["id"] for a in mine} == {api.accounts["default"]}
        runs = (await api.get("/sync-runs", env="other")).json()["result"]
        assert {r["integrated_account_id"] for r in runs} == {foreign}
        own_run = runs[0]["id"]
        assert (await api.get(f"/sync-runs/{own_run}", env="default")).status_code == 404
        # The foreign account was not touched by the attempts above.
        still = (await api.get(f"/integrated-accounts/{foreign}", env="other")).json()
        assert still["name"] is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer umk_nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer"},
    ],
)
async def test_requests_without_a_valid_token_are_401(
    database_url: str, data_dir: Path, headers: dict[str, str]
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        response = await api.client.get("/integrated-accounts", headers=headers)
        assert response.status_code == 401
        assert set(response.json()) >= ENVELOPE_KEYS


async def test_revoked_token_is_refused(database_url: str, data_dir: Path) -> None:
    from unimeter.auth.service import create_token, revoke_token

    async with api_world(database_url, data_dir, synced=False) as api:
        token_row, token = await create_token(api.world.runtime, "default")
        headers = {"Authorization": f"Bearer {token}"}
        assert (await api.client.get("/integrated-accounts", headers=headers)).status_code == 200
        await revoke_token(api.world.runtime, token_row.id)
        assert (await api.client.get("/integrated-accounts", headers=headers)).status_code == 401


BAD_USAGE: list[dict[str, Any]] = [
    {"start_date": "2026-13-01"},
    {"start_date": "yesterday"},
    {"start_date": "2026-06-10", "end_date": "2026-06-01"},
    {"start_date": "2026-06-10", "end_date": "2026-06-10"},
    {"start_date": "2026-06-10T00:00:00"},
    {"limit": 0},
    {"limit": 1001},
    {"limit": "many"},
    {"group_by[]": "team"},
    {"group_by": "team"},
    {"granularity": "hour"},
    {"next_cursor": "garbage"},
    {"mode": "psychic"},
    {"response_format": "xml"},
    {"start_date": "2020-01-01", "end_date": "2026-01-01"},
    {"mode": "live", "start_date": "2026-04-01", "end_date": "2026-06-01"},
]


async def test_bad_usage_parameters_are_400_in_the_envelope(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        for params in BAD_USAGE:
            response = await api.get(
                "/unified/usage-metering/usage", integrated_account_id=account, **params
            )
            assert response.status_code == 400, (params, response.text)
            body = response.json()
            assert set(body) >= ENVELOPE_KEYS
            assert body["statusCode"] == 400
        missing = await api.get("/unified/usage-metering/usage")
        assert missing.status_code == 400
        assert "integrated_account_id" in missing.json()["message"]
        unknown = await api.get("/unified/usage-metering/usage", integrated_account_id="acc_nope")
        assert unknown.status_code == 404


async def test_cursors_are_tamper_evident_and_bound_to_the_query(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        first = (
            await api.get("/unified/usage-metering/usage", integrated_account_id=account, limit=3)
        ).json()
        cursor = first["next_cursor"]
        assert cursor
        body, _, signature = cursor.partition(".")
        flipped = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature
        for bad in (flipped, cursor + "x", cursor.replace(".", "")):
            response = await api.get("/unified/usage-metering/usage", integrated_account_id=account,
                                     limit=3, next_cursor=bad)  # fmt: skip
            assert response.status_code == 400
        other_query = await api.get("/unified/usage-metering/usage", integrated_account_id=account,
                                    limit=3, next_cursor=cursor, granularity="week")  # fmt: skip
        assert other_query.status_code == 400
        assert "different query" in other_query.json()["message"]


async def test_unknown_routes_and_methods_use_the_envelope(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        assert (await api.get("/nope")).json()["statusCode"] == 404
        put = await api.client.put("/integrated-accounts", headers=api.auth())
        assert put.status_code == 405
        assert set(put.json()) >= ENVELOPE_KEYS
        health = await api.client.get("/healthz")
        ready = await api.client.get("/readyz")
        assert health.json() == {"status": "ok"}
        assert ready.json() == {"status": "ready"}


async def test_rate_limits_per_account_and_per_token(database_url: str, data_dir: Path) -> None:
    async with api_world(
        database_url, data_dir, synced=False, account_rate_limit="3/10", token_rate_limit="5/10"
    ) as api:
        account = api.accounts["default"]
        path = "/unified/usage-metering/users"
        codes = [(await api.get(path, integrated_account_id=account)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = await api.get(path, integrated_account_id=account)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 10
        assert limited.json()["statusCode"] == 429
        # The token has its own, larger budget, spent by every request it made.
        assert (await api.get("/integrated-accounts")).status_code == 429


async def test_api_key_never_appears_in_responses_or_logs(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with api_world(database_url, data_dir) as api:
        key = api.sim.keys[0]
        account = api.accounts["default"]
        paths = (
            "/integrated-accounts",
            f"/integrated-accounts/{account}",
            "/sync-runs",
            "/unified/usage-metering/users",
            "/unified/usage-metering/usage",
            "/openapi.json",
        )
        bodies = [(await api.get(path, integrated_account_id=account)).text for path in paths]
        bodies.append(
            (await api.get("/proxy/cursor/teams/members", integrated_account_id=account)).text
        )
        api.sim.revoke(key)
        bodies.append(
            (await api.get("/proxy/cursor/teams/members", integrated_account_id=account)).text
        )
        bodies.append(
            (
                await api.get(
                    "/unified/usage-metering/usage", integrated_account_id=account, mode="live"
                )
            ).text
        )
        assert all(key not in body for body in bodies)
    assert key not in caplog.text
