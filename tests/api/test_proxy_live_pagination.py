"""The proxy, live mode, and page walks that stay exact while a sync writes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import NOW_MS, make_sim
from unimeter.connectors.cursor.retry import RetryPolicy
from unimeter.connectors.cursor.simulator import create_app as simulator_app
from unimeter.db.models import UsageEvent
from unimeter.sync.service import sync_account

USAGE = "/unified/usage-metering/usage"


async def test_proxy_is_one_to_one(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        members = await api.get("/proxy/cursor/teams/members", integrated_account_id=account)
        assert members.status_code == 200
        truth = api.sim.truth(KEYS[0])
        assert {m["email"] for m in members.json()["teamMembers"]} == {
            m.email for m in truth.members()
        }
        body = {"startDate": NOW_MS - 86_400_000, "endDate": NOW_MS, "pageSize": 5}
        events = await api.client.post(
            "/proxy/cursor/teams/filtered-usage-events",
            params={"integrated_account_id": account}, json=body, headers=api.auth(),
        )  # fmt: skip
        assert events.status_code == 200
        assert len(events.json()["usageEvents"]) == 5
        too_long = await api.client.post(
            "/proxy/cursor/teams/filtered-usage-events",
            params={"integrated_account_id": account},
            json={"startDate": NOW_MS - 40 * 86_400_000, "endDate": NOW_MS}, headers=api.auth(),
        )  # fmt: skip
        assert too_long.status_code == 400
        assert too_long.json() == {
            "error": "Bad Request",
            "message": "Date range cannot exceed 30 days",
        }
        groups = await api.get(
            "/proxy/cursor/teams/groups", integrated_account_id=account, billingCycle="2026-06-01"
        )
        assert groups.json()["billingCycle"]["cycleStart"].startswith("2026-")


async def test_proxy_refuses_paths_outside_the_api(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        for path in ("/proxy/cursor/admin", "/proxy/cursor/teams/../../etc/passwd",
                     "/proxy/cursor/%2e%2e/x", "/proxy/cursor/teams//members",
                     "/proxy/cursor/http:%2F%2Fevil.example/teams/"):  # fmt: skip
            response = await api.get(path, integrated_account_id=account)
            assert response.status_code in (400, 404), path
            assert response.json()["statusCode"] in (400, 404)
        before = api.sim.requests[KEYS[0]]
        await api.get("/proxy/cursor/admin", integrated_account_id=account)
        assert api.sim.requests[KEYS[0]] == before, "refused paths never reach Cursor"


async def test_proxy_passes_cursor_rate_limits_through(database_url: str, data_dir: Path) -> None:
    sim = make_sim(api_keys=KEYS, rate_limits="real", minute_seconds=60)
    one_try = RetryPolicy(max_attempts=1)
    async with api_world(database_url, data_dir, sim=sim, synced=False, retry=one_try) as api:
        account = api.accounts["default"]
        # Another tool (another process, with no share in our budget) spends the team's
        # admin budget behind unimeter's back.
        transport = httpx.ASGITransport(app=simulator_app(sim))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://cursor.sim", auth=(KEYS[0], "")
        ) as other:
            # Cursor's windows are fixed minutes: if one ends between spending the budget
            # and the proxied call, the call succeeds, so spend it again (at most twice more).
            for _ in range(3):
                while (await other.get("/teams/members")).status_code != 429:
                    pass
                limited = await api.get(
                    "/proxy/cursor/teams/members", integrated_account_id=account
                )
                if limited.status_code != 200:
                    break
        # Cursor's own 429 comes back unchanged, Retry-After included.
        assert limited.status_code == 429
        assert limited.json() == {"code": "error", "message": "Rate limit exceeded"}
        assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_live_mode_equals_stored_mode_and_stores_nothing(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        params: dict[str, Any] = {"integrated_account_id": account, "start_date": "2026-06-08",
                                  "end_date": "2026-06-15", "limit": 1000}  # fmt: skip
        async with api.world.runtime.db.reader() as session:
            before = await session.scalar(select(func.count()).select_from(UsageEvent))
        stored = (await api.get(USAGE, **params)).json()["result"]
        live = (await api.get(USAGE, mode="live", **params)).json()["result"]
        assert _strip(live) == _strip(stored)
        grouped = {"group_by[]": ["model"], "granularity": "total"}
        assert _strip(
            (await api.get(USAGE, mode="live", **params, **grouped)).json()["result"]
        ) == _strip((await api.get(USAGE, **params, **grouped)).json()["result"])
        users_live = (
            await api.get(
                "/unified/usage-metering/users", integrated_account_id=account, mode="live"
            )
        ).json()
        assert len(users_live["result"]) == len(api.sim.truth(KEYS[0]).members())
        async with api.world.runtime.db.reader() as session:
            after = await session.scalar(select(func.count()).select_from(UsageEvent))
        assert after == before


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their refresh times (a live read is fresher by definition)."""
    return [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in rows]


async def _walk(api: ApiWorld, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows, cursor = [], None
    while True:
        page = (
            await api.get(USAGE, **params, **({"next_cursor": cursor} if cursor else {}))
        ).json()
        rows += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows
        await asyncio.sleep(0)  # let the concurrent sync interleave with the walk


async def test_page_walk_never_repeats_or_skips_while_a_sync_writes(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        for grouping in ({}, {"group_by[]": ["user", "model"]}):
            params = {"integrated_account_id": account, "start_date": "2026-05-01",
                      "end_date": "2026-06-20", "limit": 13, **grouping}  # fmt: skip
            before = await _walk(api, {**params, "limit": 1000})
            api.sim.truth(KEYS[0]).bump_costs()
            api.sim.clock.advance(hours=3)
            writer = asyncio.create_task(sync_account(api.world.runtime, account, _options()))
            walked = await _walk(api, params)
            await writer
            ids = [r["id"] for r in walked]
            assert len(ids) == len(set(ids)), "no row twice"
            assert {r["id"] for r in before} <= set(ids), (
                "no row that existed throughout was skipped"
            )
            assert [json.dumps(r["start_date"]) for r in walked] == sorted(
                json.dumps(r["start_date"]) for r in walked
            )


def _options() -> Any:
    from unimeter.sync.engine.report import SyncOptions

    return SyncOptions(full=True)
