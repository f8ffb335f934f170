"""Analytics streams (``team_analytics``, ``user_analytics``, ``conversation_insights``)
against the simulator: every count equals the truth's rows, each (day, person, kind, key)
once; an unchanged range read again costs 304s and yields nothing; insights an admin
disabled (401) make only that stream unavailable."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.errors import StreamUnavailableError
from unimeter.connectors.records import ActivityCountRecord
from unimeter.connectors.source import Window
from unimeter.connectors.windows import DAY_MS, plan_windows

from .conftest import make_sim, sim_client

TEAM = ("agent-edits", "tabs", "dau", "client-versions", "models", "top-file-extensions",
        "mcp", "commands", "plans", "skills", "ask-mode")  # fmt: skip
INCLUDE = ["intents", "complexity", "categories", "guidanceLevels", "workTypes"]
LINES = {"suggested_lines_added": "total_green_lines_suggested",
         "suggested_lines_deleted": "total_red_lines_suggested",
         "accepted_lines_added": "total_green_lines_accepted",
         "accepted_lines_deleted": "total_red_lines_accepted",
         "rejected_lines_added": "total_green_lines_rejected",
         "rejected_lines_deleted": "total_red_lines_rejected"}  # fmt: skip
COUNTERS = {
    "agent-edits": ("agent_edit", {"suggested": "total_suggested_diffs",
                                   "accepted": "total_accepted_diffs",
                                   "rejected": "total_rejected_diffs", **LINES}),
    "tabs": ("completion", {"suggested": "total_suggestions", "accepted": "total_accepts",
                            "rejected": "total_rejects", **LINES}),
    "dau": ("active_users", {"all": "dau", "cli": "cli_dau", "cloud_agent": "cloud_agent_dau",
                             "review": "bugbot_dau"}),
}  # fmt: skip
USAGE = {"commands": ("command", "command_name"), "skills": ("skill", "skill_name"),
         "plans": ("plan_mode", "model"), "ask-mode": ("ask_mode", "model")}  # fmt: skip
SLICES = {"intents": ("intent", "intent"), "complexity": ("complexity", "complexity"),
          "categories": ("category", "category"),
          "guidanceLevels": ("guidance_level", "guidanceLevel"),
          "workTypes": ("work_type", "workType")}  # fmt: skip

Natural = tuple[dt.date, str, str, str]  # day, email, kind, key


def expected_counts(metric: str, row: dict[str, Any]) -> Iterator[tuple[str, str, int]]:
    """What each truth row must become, metric by metric (cursor-api.md §3.2)."""
    if metric in COUNTERS:
        kind, fields = COUNTERS[metric]
        yield from ((kind, key, row[name]) for key, name in fields.items())
    elif metric in USAGE:
        kind, field = USAGE[metric]
        yield kind, row[field], row["usage"]
    elif metric == "models":
        for model, numbers in row["model_breakdown"].items():
            yield "model_messages", model, numbers["messages"]
    elif metric == "mcp":
        yield "mcp_tool", f"{row['mcp_server_name']}/{row['tool_name']}", row["usage"]
    elif metric == "client-versions":
        yield "client_version", row["client_version"], row["user_count"]
    else:
        yield "file_extension", row["file_extension"], row["total_lines_accepted"]


def day_of(row: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(row.get("event_date") or row["date"])


def dates(window: Window) -> tuple[str, str]:
    def day(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()

    return day(window.start_ms), day(window.end_ms)


def add(into: dict[Natural, int], natural: Natural, value: int) -> None:
    assert natural not in into, f"{natural} counted twice: the store would keep one"
    into[natural] = value


async def read(source: CursorSource, stream: str, windows: list[Window]) -> dict[Natural, int]:
    out: dict[Natural, int] = {}
    for window in windows:
        async for batch in source.fetch(stream, window):
            for r in batch:
                assert isinstance(r, ActivityCountRecord)
                add(out, (r.day, r.user_email, r.kind, r.key), r.value)
    return out


def windows_of(sim: SimulatedCursor) -> list[Window]:
    now = sim.clock.now_ms()
    return plan_windows(now - 44 * DAY_MS, now, 30)  # two windows, the last ending now


def enterprise_sim(**overrides: object) -> SimulatedCursor:
    return make_sim(plan="enterprise", enterprise_apis=True, users=10, days=50, **overrides)


async def test_team_and_by_user_analytics_equal_the_truth() -> None:
    sim = enterprise_sim()
    truth, windows = sim.truth(), windows_of(sim)
    team: dict[Natural, int] = {}
    by_user: dict[Natural, int] = {}
    for window in windows:
        start, end = dates(window)
        for metric in TEAM:
            for row in truth.analytics(metric, start, end)["data"]:
                for kind, key, value in expected_counts(metric, row):
                    add(team, (day_of(row), "", kind, key), value)
            if metric == "dau":
                continue  # Cursor has no by-user DAU
            for email, rows in truth.by_user(metric, start, end).items():
                for row in rows:
                    for kind, key, value in expected_counts(metric, row):
                        add(by_user, (day_of(row), email.lower(), kind, key), value)
    async with sim_client(sim) as client:
        source = CursorSource(client)
        assert await read(source, "team_analytics", windows) == team
        assert await read(source, "user_analytics", windows) == by_user
    kinds = {kind for _, _, kind, _ in team}
    assert kinds == {"agent_edit", "completion", "active_users", "client_version",
                     "model_messages", "file_extension", "mcp_tool", "command", "plan_mode",
                     "skill", "ask_mode"}  # fmt: skip
    assert {kind for _, _, kind, _ in by_user} == kinds - {"active_users"}


async def test_conversation_insights_equal_the_truths_time_series() -> None:
    sim = enterprise_sim()
    truth, windows = sim.truth(), windows_of(sim)
    expected: dict[Natural, int] = {}
    for window in windows:
        data = truth.conversation_insights(*dates(window), INCLUDE)["data"]
        for name, (kind, field) in SLICES.items():
            for row in data[name]["timeSeries"]:
                add(expected, (day_of(row), "", kind, row[field]), row["count"])
    assert expected
    async with sim_client(sim) as client:
        assert await read(CursorSource(client), "conversation_insights", windows) == expected


async def test_an_unchanged_range_read_again_costs_304s_and_yields_nothing() -> None:
    sim = enterprise_sim()
    windows = windows_of(sim)
    async with sim_client(sim) as client:
        for stream in ("team_analytics", "user_analytics", "conversation_insights"):
            first = CursorSource(client)
            assert await read(first, stream, windows)
            again = CursorSource(client)
            again.restore(stream, first.memory(stream))
            assert await read(again, stream, windows) == {}
            stats = again.counters(stream)
            assert stats.not_modified == stats.requests > 0


async def test_insights_an_admin_disabled_are_unavailable_and_the_rest_reads() -> None:
    sim = enterprise_sim(conversation_insights=False)
    windows = windows_of(sim)
    async with sim_client(sim) as client:
        source = CursorSource(client)
        with pytest.raises(StreamUnavailableError, match="disabled"):
            await read(source, "conversation_insights", windows)
        assert source.counters("conversation_insights").requests == 1
        assert await read(source, "team_analytics", windows)
