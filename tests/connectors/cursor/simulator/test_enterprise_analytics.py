"""Analytics API: team and by-user metrics that agree with the Admin API's data."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.cursor.simulator.analytics import day_text

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
TODAY = NOW_MS // DAY
# Settled days only: the current day's counters are still being pro-rated.
START, END = day_text(TODAY - 12), day_text(TODAY - 1)
WINDOW = {"startDate": START, "endDate": END}
TEAM_METRICS = [
    "agent-edits", "tabs", "dau", "client-versions", "models", "top-file-extensions", "mcp",
    "commands", "plans", "skills", "ask-mode",
]  # fmt: skip


async def _get(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _usage_by_day(sim: SimulatedCursor) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sim.truth().daily_usage((TODAY - 12) * DAY, TODAY * DAY - 1):
        rows[row["day"]].append(row)
    return rows


async def test_dau_counts_the_members_active_in_daily_usage(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    body = await _get(client, "/analytics/team/dau", **WINDOW)
    assert body["params"] == {"metric": "dau", "teamId": body["params"]["teamId"], **WINDOW}
    usage = _usage_by_day(sim)
    assert [r["date"] for r in body["data"]] == sorted(usage)
    for row in body["data"]:
        assert row["dau"] == sum(u["isActive"] for u in usage[row["date"]])
        assert row["dau"] >= max(row["cli_dau"], row["cloud_agent_dau"], row["bugbot_dau"])
        assert row["bugbot_dau"] == sum(u["bugbotUsages"] > 0 for u in usage[row["date"]])


async def test_tabs_and_agent_edits_sum_the_daily_usage_counters(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    usage = _usage_by_day(sim)
    tabs = await _get(client, "/analytics/team/tabs", **WINDOW)
    edits = await _get(client, "/analytics/team/agent-edits", **WINDOW)
    for tab, edit in zip(tabs["data"], edits["data"], strict=True):
        day = usage[tab["event_date"]]
        assert tab["total_suggestions"] == sum(u["totalTabsShown"] for u in day)
        assert tab["total_accepts"] == sum(u["totalTabsAccepted"] for u in day)
        assert edit["total_suggested_diffs"] == sum(u["totalApplies"] for u in day)
        assert edit["total_accepted_diffs"] == sum(u["totalAccepts"] for u in day)
        accepted = tab["total_green_lines_accepted"] + edit["total_green_lines_accepted"]
        assert accepted <= sum(u["acceptedLinesAdded"] for u in day)
        for row in (tab, edit):
            green, red = row["total_green_lines_suggested"], row["total_red_lines_suggested"]
            assert row["total_lines_suggested"] == green + red


async def test_accepted_lines_are_the_ai_code_changes(sim: SimulatedCursor) -> None:
    truth = sim.truth()
    changes = truth.changes((TODAY - 3) * DAY, (TODAY - 2) * DAY - 1)
    tabs = truth.analytics("tabs", day_text(TODAY - 3), day_text(TODAY - 3))["data"][0]
    tab_lines = sum(c["totalLinesAdded"] for c in changes if c["source"] == "TAB")
    assert tabs["total_green_lines_accepted"] == tab_lines


async def test_models_count_the_usage_events(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    day = TODAY - 2
    events = sim.truth().events(day * DAY, (day + 1) * DAY - 1)
    body = await _get(
        client, "/analytics/team/models", startDate=day_text(day), endDate=day_text(day)
    )
    breakdown = body["data"][0]["model_breakdown"]
    assert sum(v["messages"] for v in breakdown.values()) == len(events)
    per_model = Counter(e.payload["model"] for e in events)
    assert breakdown["claude-sonnet-4.5"]["messages"] == per_model["claude-4.5-sonnet"]
    assert breakdown["default"]["messages"] == per_model["auto"], "Auto is 'default' here"


@pytest.mark.parametrize("metric", ["tabs", "agent-edits", "commands", "mcp", "models"])
async def test_by_user_rows_add_up_to_the_team_rows(sim: SimulatedCursor, metric: str) -> None:
    truth = sim.truth()
    team = truth.analytics(metric, START, END)["data"]
    per_user = truth.by_user(metric, START, END)
    totals: Counter[tuple[str, ...]] = Counter()
    for rows in per_user.values():
        for row in rows:
            totals.update(_additive(row))
    expected: Counter[tuple[str, ...]] = Counter()
    for row in team:
        expected.update(_additive(row))
    assert +totals == +expected


def _additive(row: dict[str, Any]) -> dict[tuple[str, ...], int]:
    date = row.get("event_date") or row["date"]
    if "model_breakdown" in row:
        return {(date, m, "messages"): v["messages"] for m, v in row["model_breakdown"].items()}
    labels = tuple(str(v) for k, v in row.items() if isinstance(v, str) and k != "event_date")
    return {(date, *labels, k): v for k, v in row.items() if isinstance(v, int)}


async def test_by_user_pages_users_with_mappings(client: httpx.AsyncClient) -> None:
    first = await _get(client, "/analytics/by-user/tabs", pageSize="7", **WINDOW)
    pagination = first["pagination"]
    assert pagination["pageSize"] == 7 and pagination["hasNextPage"]
    assert list(first["data"]) == [m["email"] for m in first["params"]["userMappings"]]
    seen: list[str] = []
    for page in range(1, pagination["totalPages"] + 1):
        body = await _get(client, "/analytics/by-user/tabs", page=str(page), pageSize="7", **WINDOW)
        seen.extend(body["data"])
    assert len(seen) == len(set(seen)) == pagination["totalUsers"]


async def test_users_filter_and_team_wide_rank(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    board = await _get(client, "/analytics/team/leaderboard", pageSize="500", **WINDOW)
    third = board["data"]["agent_leaderboard"]["data"][2]
    narrowed = await _get(client, "/analytics/team/leaderboard", users=third["user_id"], **WINDOW)
    assert narrowed["data"]["agent_leaderboard"]["data"] == [third]
    assert "accept_ratio" in board["data"]["tab_leaderboard"]["data"][0]
    assert "accept_ratio" not in third
    one = await _get(client, "/analytics/team/tabs", users=third["email"], **WINDOW)
    by_user = sim.truth().by_user("tabs", START, END, users=[third["email"]])

    def busy(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if r["total_suggestions"] or r["total_lines_accepted"]]

    assert busy(one["data"]) == busy(by_user[third["email"]])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"startDate": day_text(TODAY - 31), "endDate": day_text(TODAY)}, "30 days"),
        ({"users": "stranger@nowhere.dev"}, "not in the team"),
        ({"startDate": "last tuesday"}, "date"),
    ],
)
async def test_bad_requests(
    client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await client.get("/analytics/team/dau", params=params)
    assert response.status_code == 400
    assert message in response.json()["message"]


async def test_conversation_insights_need_include_and_can_be_disabled(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    path = "/analytics/team/conversation-insights"
    assert (await client.get(path)).status_code == 400
    body = await _get(client, path, include="intents,workTypes", **WINDOW)
    assert body["params"]["include"] == ["intents", "workTypes"]
    intents = body["data"]["intents"]
    assert sum(d["count"] for d in intents["distribution"]) == sum(
        t["count"] for t in intents["timeSeries"]
    )
    assert set(intents["subcategories"]) == {"askMode", "planMode", "writeCode"}
    assert body == sim.truth().conversation_insights(START, END, ["intents", "workTypes"])
    async with client_for(make_sim(conversation_insights=False)) as off:
        refused = await off.get(path, params={"include": "intents"})
    assert refused.status_code == 401


@pytest.mark.parametrize("metric", TEAM_METRICS)
async def test_every_team_metric_is_served_like_the_truth(
    sim: SimulatedCursor, client: httpx.AsyncClient, metric: str
) -> None:
    body = await _get(client, f"/analytics/team/{metric}", **WINDOW)
    assert body == sim.truth().analytics(metric, START, END)
    assert body["data"], metric
    if metric == "top-file-extensions":
        assert body["params"]["metric"] == "top-files"


async def test_etag_and_limits_per_group() -> None:
    sim = make_sim(rate_limits="real", minute_seconds=3600.0)
    async with client_for(sim) as client:
        first = await client.get("/analytics/team/dau")
        tag = first.headers["etag"]
        for _ in range(99):
            response = await client.get("/analytics/team/tabs")
            assert response.status_code == 200
        cached = await client.get("/analytics/team/dau", headers={"If-None-Match": tag})
        assert cached.status_code == 304, "a 304 is answered even when the limit is spent"
        limited = await client.get("/analytics/team/dau")
        assert limited.status_code == 429 and "retry-after" in limited.headers
        for _ in range(50):
            assert (await client.get("/analytics/by-user/tabs")).status_code == 200
        assert (await client.get("/analytics/by-user/tabs")).status_code == 429
        insights = "/analytics/team/conversation-insights"
        for _ in range(20):
            assert (await client.get(insights, params={"include": "intents"})).status_code == 200
        assert (await client.get(insights, params={"include": "intents"})).status_code == 429


async def test_analytics_is_refused_on_the_team_plan() -> None:
    sim = make_sim(plan="team")
    async with client_for(sim) as client:
        for path in (
            "/analytics/team/dau",
            "/analytics/by-user/models",
            "/analytics/team/leaderboard",
        ):
            assert (await client.get(path)).status_code == 403
    assert sim.requests[sim.keys[0]] == 0
