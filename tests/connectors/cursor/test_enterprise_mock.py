"""Enterprise streams at the transport seam (``httpx.MockTransport``), with payloads shaped
like cursor-api.md's examples: answers the simulator does not give (v1 missing, an unknown
status, a disabled feature, a missing scope) and the query each family is sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.errors import SourceAuthError, StreamUnavailableError
from unimeter.connectors.records import ActivityCountRecord, AgentRunRecord
from unimeter.connectors.source import Record, Window

from .conftest import mock_client

DAY = 86_400_000
# 2026-05-01T00:00:00Z .. 2026-05-02T10:00:00Z
WINDOW = Window(1_777_593_600_000, 1_777_593_600_000 + DAY + 10 * 3_600_000)
Routes = dict[str, Any]


def serve(routes: Routes, seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = routes.get(request.url.path)
        if answer is None:
            return httpx.Response(404, json={"error": "Not Found", "message": "Not Found"})
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer(request) if callable(answer) else answer)

    return handle


async def read(routes: Routes, stream: str) -> tuple[list[Record], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    async with mock_client(serve(routes, seen)) as client:
        records = [r async for batch in CursorSource(client).fetch(stream, WINDOW) for r in batch]
    return records, seen


def metric(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": rows, "params": {"metric": name, "teamId": 4711}}


async def test_team_analytics_map_onto_neutral_counts_and_send_whole_days() -> None:
    routes: Routes = {
        f"/analytics/team/{m}": metric(m, [])
        for m in ("agent-edits", "tabs", "client-versions", "top-file-extensions", "plans",
                  "skills", "ask-mode", "commands")
    }  # fmt: skip
    routes["/analytics/team/dau"] = metric("dau", [
        {"date": "2026-05-01", "dau": 41, "cli_dau": 6, "cloud_agent_dau": 9, "bugbot_dau": 3}
    ])  # fmt: skip
    routes["/analytics/team/models"] = metric("models", [{"date": "2026-05-01", "model_breakdown": {
        "claude-sonnet-4.5": {"messages": 980, "users": 22}, "gpt-5": {"messages": 310}}}])  # fmt: skip
    routes["/analytics/team/mcp"] = metric("mcp", [
        {"event_date": "2026-05-02", "tool_name": "search", "mcp_server_name": "github",
         "usage": 7}
    ])  # fmt: skip
    routes["/analytics/team/tabs"] = metric("tabs", [
        {"event_date": "2026-05-01", "total_suggestions": 50, "total_accepts": 20,
         "total_rejects": 30, "total_green_lines_accepted": 40, "total_red_lines_accepted": 4,
         "total_lines_accepted": 44}
    ])  # fmt: skip
    records, seen = await read(routes, "team_analytics")
    counts = {(r.day.isoformat(), r.kind, r.key, r.user_email): r.value
              for r in records if isinstance(r, ActivityCountRecord)}  # fmt: skip
    assert counts == {
        ("2026-05-01", "active_users", "all", ""): 41,
        ("2026-05-01", "active_users", "cli", ""): 6,
        ("2026-05-01", "active_users", "cloud_agent", ""): 9,
        ("2026-05-01", "active_users", "review", ""): 3,
        ("2026-05-01", "model_messages", "claude-sonnet-4.5", ""): 980,
        ("2026-05-01", "model_messages", "gpt-5", ""): 310,
        ("2026-05-02", "mcp_tool", "github/search", ""): 7,
        ("2026-05-01", "completion", "suggested", ""): 50,
        ("2026-05-01", "completion", "accepted", ""): 20,
        ("2026-05-01", "completion", "rejected", ""): 30,
        ("2026-05-01", "completion", "accepted_lines_added", ""): 40,
        ("2026-05-01", "completion", "accepted_lines_deleted", ""): 4,
    }
    assert len(seen) == 11
    assert {(r.url.params["startDate"], r.url.params["endDate"]) for r in seen} == {
        ("2026-05-01", "2026-05-02")
    }


async def test_by_user_analytics_follow_pages_and_key_counts_by_email() -> None:
    def commands(request: httpx.Request) -> dict[str, Any]:
        page = int(request.url.params["page"])
        assert request.url.params["pageSize"] == "500"
        email = {1: "Lee@acme.dev", 2: "dana@acme.dev"}[page]
        return {
            "data": {email: [{"event_date": "2026-05-01", "command_name": "review", "usage": 4}]},
            "pagination": {"page": page, "pageSize": 500, "totalUsers": 2, "totalPages": 2,
                           "hasNextPage": page == 1, "hasPreviousPage": page == 2},
            "params": {"metric": "commands", "userMappings": []},
        }  # fmt: skip

    empty = {"data": {}, "pagination": {"page": 1, "totalUsers": 0, "hasNextPage": False}}
    routes: Routes = {f"/analytics/by-user/{m}": empty for m in
                      ("agent-edits", "tabs", "models", "top-file-extensions",
                       "client-versions", "mcp", "plans", "skills", "ask-mode")}  # fmt: skip
    routes["/analytics/by-user/commands"] = commands
    records, seen = await read(routes, "user_analytics")
    assert {(r.user_email, r.kind, r.key, r.value) for r in records
            if isinstance(r, ActivityCountRecord)} == {
        ("lee@acme.dev", "command", "review", 4), ("dana@acme.dev", "command", "review", 4)
    }  # fmt: skip
    assert not any("/dau" in r.url.path for r in seen)  # Cursor has no by-user DAU


async def test_conversation_insights_give_daily_counts_and_a_401_is_unavailable() -> None:
    insights = {"data": {
        "intents": {"distribution": [{"intent": "Write Code", "count": 9}],
                    "timeSeries": [{"date": "2026-05-01", "intent": "Write Code", "count": 5},
                                   {"date": "2026-05-02", "intent": "Ask", "count": 4}],
                    "topValues": [], "subcategories": {"askMode": []}},
        "workTypes": {"distribution": [],
                      "timeSeries": [{"date": "2026-05-01", "workType": "bug", "count": 2}]},
        "guidanceLevels": {"timeSeries": [
            {"date": "2026-05-01", "guidanceLevel": "high", "count": 1}]},
    }, "params": {"include": ["intents", "workTypes", "guidanceLevels"]}}  # fmt: skip
    path = "/analytics/team/conversation-insights"
    records, seen = await read({path: insights}, "conversation_insights")
    assert {(r.day, r.kind, r.key, r.value) for r in records
            if isinstance(r, ActivityCountRecord)} == {
        (dt.date(2026, 5, 1), "intent", "Write Code", 5),
        (dt.date(2026, 5, 2), "intent", "Ask", 4),
        (dt.date(2026, 5, 1), "work_type", "bug", 2),
        (dt.date(2026, 5, 1), "guidance_level", "high", 1),
    }  # fmt: skip
    include = seen[0].url.params["include"].split(",")
    assert set(include) == {"intents", "complexity", "categories", "guidanceLevels", "workTypes"}

    disabled = httpx.Response(401, json={"error": "Unauthorized", "message": "Not enabled"})
    with pytest.raises(StreamUnavailableError, match="conversation insights is disabled"):
        await read({path: disabled}, "conversation_insights")
    # A key without the admin scope is the account's problem, not the feature's.
    no_scope = httpx.Response(
        401, json={"error": "Unauthorized", "message": "API key missing required scope: admin:*"}
    )
    with pytest.raises(SourceAuthError):
        await read({path: no_scope}, "conversation_insights")


V1_AGENT = {"id": "bc-1", "name": "Add health check", "status": "IDLE",
            "createdAt": "2026-05-01T10:00:00.000Z", "updatedAt": "2026-05-01T11:00:00.000Z"}  # fmt: skip


async def test_v1_runs_carry_their_usage_pr_and_lower_cased_status() -> None:
    runs = {"items": [
        {"id": "run-1", "agentId": "bc-1", "status": "FINISHED", "durationMs": 60000,
         "createdAt": "2026-05-01T10:00:00.000Z",
         "git": {"branches": [{"repoUrl": "github.com/acme/payments", "branch": "cursor/x",
                               "prUrl": "https://github.com/acme/payments/pull/7"}]}},
        {"id": "run-2", "agentId": "bc-1", "status": "SOMETHING_NEW",
         "createdAt": "2026-05-01T10:30:00.000Z"},
    ]}  # fmt: skip
    usage = {"totalUsage": {}, "runs": [{"id": "run-1", "usage": {
        "inputTokens": 10, "outputTokens": 20, "cacheWriteTokens": 3, "cacheReadTokens": 4,
        "totalTokens": 37}}]}  # fmt: skip
    old = {**V1_AGENT, "id": "bc-0", "createdAt": "2026-04-01T00:00:00Z",
           "updatedAt": "2026-04-01T01:00:00Z"}  # fmt: skip
    routes: Routes = {
        "/v1/agents": {"items": [V1_AGENT, old]},
        "/v1/agents/bc-1/runs": runs,
        "/v1/agents/bc-1/usage": usage,
    }
    records, seen = await read(routes, "agent_runs")
    by_key = {r.key: r for r in records if isinstance(r, AgentRunRecord)}
    assert set(by_key) == {"run-1", "run-2"}  # bc-0 ended before the window: not read
    one, two = by_key["run-1"], by_key["run-2"]
    assert (one.status, one.duration_ms, one.repository, one.branch) == (
        "finished",
        60000,
        "github.com/acme/payments",
        "cursor/x",
    )
    assert one.pull_request_url == "https://github.com/acme/payments/pull/7"
    assert (one.input_tokens, one.output_tokens, one.cache_write_tokens,
            one.cache_read_tokens) == (10, 20, 3, 4)  # fmt: skip
    assert (one.agent_id, one.name, one.user_email) == ("bc-1", "Add health check", None)
    assert two.status == "error" and two.input_tokens is None
    assert [r.url.path for r in seen] == ["/v1/agents", "/v1/agents/bc-1/runs",
                                          "/v1/agents/bc-1/usage"]  # fmt: skip


async def test_without_v1_the_v0_agents_are_one_record_each() -> None:
    v0 = {"agents": [{"id": "bc-9", "name": "Fix flaky test", "status": "RUNNING",
                      "source": {"repository": "https://github.com/acme/payments", "ref": "main"},
                      "target": {"branchName": "cursor/fix", "url": "https://cursor.com/agents?id=bc-9",
                                 "prUrl": "https://github.com/acme/payments/pull/9"},
                      "createdAt": "2026-05-01T10:00:00Z", "userEmail": "Lee@acme.dev"}]}  # fmt: skip
    records, seen = await read({"/v0/agents": v0}, "agent_runs")
    assert records == [
        AgentRunRecord(
            key="bc-9", agent_id="bc-9", user_email="lee@acme.dev", name="Fix flaky test",
            status="running", repository="https://github.com/acme/payments",
            branch="cursor/fix", pull_request_url="https://github.com/acme/payments/pull/9",
            created_at_ms=WINDOW.start_ms + 10 * 3_600_000, duration_ms=None,
            raw=v0["agents"][0],
        )
    ]  # fmt: skip
    assert [r.url.path for r in seen] == ["/v1/agents", "/v0/agents"]
    # Neither version: the stream is unavailable after those two requests.
    with pytest.raises(StreamUnavailableError):
        await read({}, "agent_runs")


async def test_ai_code_sends_iso_bounds_ending_on_the_window_days_last_millisecond() -> None:
    empty = {"items": [], "totalCount": 0, "page": 1, "pageSize": 1000}
    records, seen = await read({"/analytics/ai-code/commits": empty}, "ai_code_commits")
    assert records == []
    params = seen[0].url.params
    assert (params["startDate"], params["endDate"]) == (
        "2026-05-01T00:00:00.000Z",
        "2026-05-02T23:59:59.999Z",
    )
    assert (params["page"], params["pageSize"]) == ("1", "1000")
