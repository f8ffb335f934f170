"""Cursor's Enterprise APIs end to end, over real HTTP: the simulator serves AI Code
Tracking, Analytics and Cloud Agents, a sync stores them, and the ROI answers equal what
this test computes from the simulator's own ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path
from typing import Any

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import NOW_MS, make_sim

DAY_MS = 86_400_000
TODAY = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC).date()
PERIOD = {"start_date": (TODAY - dt.timedelta(days=20)).isoformat(),
          "end_date": (TODAY + dt.timedelta(days=1)).isoformat()}  # fmt: skip


def _ms(day: str) -> int:
    return int(dt.datetime.fromisoformat(day + "T00:00:00+00:00").timestamp() * 1000)


async def _json(api: ApiWorld, path: str, **params: Any) -> Any:
    response = await api.get(path, integrated_account_id=api.accounts["default"], **params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_ai_code_agents_and_usage_equal_the_truth(database_url: str, data_dir: Path) -> None:
    sim = make_sim(api_keys=KEYS, users=10, days=25, enterprise_apis=True)
    async with api_world(database_url, data_dir, sim=sim, transport="http") as api:
        ai_code = await _json(api, "/analytics/ai-code", granularity="total", **PERIOD)
        agents = await _json(api, "/analytics/agents", **PERIOD)
        usage = await _json(api, "/analytics/ai-usage", kind="mcp_tool", granularity="total",
                            **PERIOD)  # fmt: skip
        export = await api.get(
            "/exports/productivity", integrated_account_id=api.accounts["default"],
            format="csv", **PERIOD,
        )  # fmt: skip
    truth = sim.truth(sim.keys[0])
    start, end = _ms(PERIOD["start_date"]), _ms(PERIOD["end_date"]) - 1

    # AI Code Tracking: every commit of the period (a repeated hash counted each time it is
    # listed, as Cursor lists it), lines by origin.
    commits = truth.commits(start, end)
    assert commits, "the simulated team commits"
    totals = ai_code["totals"]
    assert totals["commits"] == len(commits)
    assert totals["lines_added"] == sum(c["totalLinesAdded"] for c in commits)
    assert totals["tab_lines_added"] == sum(c["tabLinesAdded"] for c in commits)
    assert totals["agent_lines_added"] == sum(c["composerLinesAdded"] for c in commits)
    known = [c["nonAiLinesAdded"] for c in commits if c["nonAiLinesAdded"] is not None]
    assert totals["human_lines_added"] == (sum(known) if known else None)
    assert totals["active_authors"] == len({c["userEmail"].lower() for c in commits})

    # Cloud agents: every run the period touched, by status.
    runs = [
        r for a in truth.agents() for r in truth.runs(a["id"])
        if start <= _iso_ms(r["createdAt"]) <= end
    ]  # fmt: skip
    assert runs, "the simulated team runs cloud agents"
    statuses = Counter(r["status"].lower() for r in runs)
    got = agents["totals"]
    assert got["runs"] == len(runs)
    assert {k: v for k, v in got["by_status"].items() if v} == dict(statuses)

    # What the team uses AI for: MCP tool calls of the period, from the team analytics.
    expected_mcp: Counter[str] = Counter()
    for row in truth.analytics("mcp", PERIOD["start_date"], TODAY.isoformat())["data"]:
        expected_mcp[f"{row['mcp_server_name']}/{row['tool_name']}"] += row["usage"]
    [mcp] = [k for k in usage["result"] if k["kind"] == "mcp_tool"]
    assert mcp["total"] == sum(expected_mcp.values())

    # The productivity export counts the same commits.
    assert export.status_code == 200, export.text
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sum(int(r["commits"]) for r in rows) == len(commits)


def _iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
