"""A client written against https://api.anthropic.com, with only the base URL changed,
pages through the simulator over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.support.live import serve
from unimeter.connectors.anthropic.simulator import create_app

from .conftest import BASE, TODAY, make_sim


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        response = client.get(BASE + path, params=params)
        response.raise_for_status()
        body = response.json()
        out += body["data"]
        if not body["has_more"]:
            return out
        if "next_page" in body:
            params = {**params, "page": body["next_page"]}
        else:
            params = {**params, "after_id": body["last_id"]}


def test_a_documented_client_reads_everything_over_http() -> None:
    sim = make_sim(users=25, days=20)
    truth = sim.truth()
    headers = {"x-api-key": sim.keys[0], "anthropic-version": "2023-06-01"}
    with (
        serve(create_app(sim)) as base_url,
        httpx.Client(base_url=base_url, headers=headers) as client,
    ):
        users = _pages(client, "/users", {"limit": 10})
        assert len(users) == len([u for u in truth.users() if u.removed_at_ms is None])
        day = TODAY - timedelta(days=2)
        rows = _pages(
            client, "/usage_report/claude_code", {"starting_at": day.isoformat(), "limit": 5}
        )
        assert rows == truth.claude_code_rows(day)
        params = {
            "starting_at": f"{(TODAY - timedelta(days=10)).isoformat()}T00:00:00Z",
            "group_by[]": ["workspace_id", "description"],
            "limit": 3,
        }
        buckets = _pages(client, "/cost_report", params)
        assert len(buckets) == 11  # ten whole days and today's partial bucket
        assert buckets[-2]["results"] == truth.cost_items(
            TODAY - timedelta(days=1), ("workspace_id", "description")
        )
        assert client.get(BASE + "/me", headers={"x-api-key": "nope"}).status_code == 401
