"""The organization, its users and Claude Code analytics, as a documented client sees them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from unimeter.connectors.anthropic.simulator import SimulatedAnthropic

from .conftest import BASE, TODAY


async def _all_users(client: httpx.AsyncClient, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        body = (await client.get(f"{BASE}/users", params=params)).json()
        out += body["data"]
        if not body["has_more"]:
            return out
        params["after_id"] = body["last_id"]


async def _code_rows(client: httpx.AsyncClient, day: date, limit: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    params: dict[str, Any] = {"starting_at": day.isoformat(), "limit": limit}
    while True:
        response = await client.get(f"{BASE}/usage_report/claude_code", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        out += body["data"]
        if not body["has_more"]:
            assert body["next_page"] is None
            return out
        params["page"] = body["next_page"]


async def test_me_matches_the_rows_organization(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    response = await client.get(f"{BASE}/me")
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    truth = sim.truth()
    assert body == {
        "id": truth.organization_id,
        "type": "organization",
        "name": truth.organization_name,
    }


async def test_users_page_to_the_current_roster(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    listed = await _all_users(client, 7)
    truth = sim.truth().users()
    current = [u for u in truth if u.removed_at_ms is None]
    assert [u["id"] for u in listed] == [u.id for u in current]
    assert len(current) < len(truth), "some users were removed during the period"
    assert {u["role"] for u in listed} >= {"admin"}


async def test_claude_code_rows_equal_the_truth_and_removed_users_keep_theirs(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    truth = sim.truth()
    removed = {u.email for u in truth.users() if u.removed_at_ms is not None}
    seen_removed: set[str] = set()
    for back in range(1, 20):
        day = TODAY - timedelta(days=back)
        rows = await _code_rows(client, day, 9)
        assert rows == truth.claude_code_rows(day)
        seen_removed |= {r["actor"].get("email_address") for r in rows} & removed
    assert seen_removed, "removed users' earlier rows remain"
    assert await _code_rows(client, TODAY, 20) == []
