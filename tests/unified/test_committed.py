"""Unified usage records gain ``committed`` and ``agents`` when the account's connector has
streams providing commits and agent runs: per person and day, equal to the rows the test
wrote; absent without such streams and when records split by model."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.analytics.codeworld import CodeWorld, code_world
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.source import StreamSpec

USAGE = "/unified/usage-metering/usage"
WINDOW = {"start_date": "2026-06-01", "end_date": "2026-06-16"}


class TrackingCommits(CursorConnector):
    """The same vendor with the code-tracking and agents streams declared."""

    streams = (
        *CursorConnector.streams,
        StreamSpec("commits", windowed=True, provides="commits"),
        StreamSpec("agent_runs", windowed=True, provides="agent_runs"),
    )


class Untracked(CursorConnector):
    """The same vendor without its code-tracking and agents streams."""

    streams = tuple(
        s for s in CursorConnector.streams if s.provides not in ("commits", "agent_runs")
    )


async def _records(x: CodeWorld, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        query = {**WINDOW, **params, **extra}
        response = await x.api.get(USAGE, integrated_account_id=x.account_id, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["result"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def _nothing() -> dict[str, Any]:
    return {"commits": 0, "lines_added": 0, "tab_lines_added": 0, "agent_lines_added": 0,
            "human_lines_added": None}  # fmt: skip


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()


async def test_records_gain_committed_and_agents(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        # (Another window than the next reads: answers are cached per query and data version.)
        registry = x.api.world.runtime.registry
        registry.register(Untracked(), replace=True)
        plain = await _records(x, **{"group_by[]": "user", "start_date": "2026-05-31"})
        registry.register(TrackingCommits(), replace=True)
        daily = await _records(x, **{"group_by[]": "user"})
        weekly = await _records(x, granularity="week", **{"group_by[]": "user"})
        by_model = await _records(x, **{"group_by[]": ["user", "model"]})

    assert all("committed" not in r["usage"] and "agents" not in r["usage"] for r in plain)
    assert all("committed" not in r["usage"] for r in by_model)
    want: dict[tuple[str, str], dict[str, Any]] = defaultdict(_nothing)
    for c in x.commits:
        w = want[(_day(c.committed_at_ms), c.user_email.lower())]
        w["commits"] += 1
        w["lines_added"] += c.lines_added
        w["tab_lines_added"] += c.completion_lines_added
        w["agent_lines_added"] += c.agent_lines_added
        if c.human_lines_added is not None:
            w["human_lines_added"] = (w["human_lines_added"] or 0) + c.human_lines_added
    runs: dict[tuple[str, str], int] = defaultdict(int)
    for r in x.runs:
        if r.user_email:
            runs[(_day(r.created_at_ms), r.user_email)] += 1
    seen = 0
    for record in daily:
        key = (record["start_date"][:10], record["user"]["email"].lower())
        committed = want.get(key, _nothing())
        assert record["usage"]["committed"] == committed, key
        assert record["usage"]["agents"] == {"runs": runs.get(key, 0)}, key
        seen += committed["commits"] > 0
    assert seen > 0
    # A week's record sums the week's commits and runs (days without usage too).
    for record in weekly:
        email = record["user"]["email"].lower()
        first, stop = record["start_date"][:10], record["end_date"][:10]
        commits = sum(
            w["commits"] for (d, e), w in want.items() if e == email and first <= d < stop
        )
        launched = sum(n for (d, e), n in runs.items() if e == email and first <= d < stop)
        assert record["usage"]["committed"]["commits"] == commits
        assert record["usage"]["agents"]["runs"] == launched
