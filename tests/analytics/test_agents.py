"""``/analytics/agents`` and ``/analytics/ai-usage`` against a computation made here from
the runs and counts the test wrote."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from tests.analytics.codeworld import END, PERIOD, START, CodeWorld, code_world
from unimeter.connectors.records import AgentRunRecord

CENTS_E6 = Decimal(100 * 10**6)
TERMINAL = {"finished", "error", "cancelled", "expired"}


async def _json(x: CodeWorld, path: str, **params: Any) -> Any:
    response = await x.api.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def _rank(values: list[int], q: float) -> int | None:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1] if ordered else None


def _usd(cents_e6: Decimal) -> str:
    return format((cents_e6 / CENTS_E6).normalize(), "f")


def _figures(runs: list[AgentRunRecord]) -> dict[str, Any]:
    terminal = [r for r in runs if r.status in TERMINAL]
    durations = [r.duration_ms for r in terminal if r.duration_ms is not None]
    tokens = [sum(v for v in (r.input_tokens, r.output_tokens) if v is not None) for r in runs
              if r.input_tokens is not None or r.output_tokens is not None]  # fmt: skip
    costs = [r.cost_cents_e6 for r in runs if r.cost_cents_e6 is not None]
    per_run = (Decimal(sum(costs)) / len(costs)).quantize(Decimal(1), ROUND_HALF_EVEN)
    statuses = ("creating", "running", "finished", "error", "cancelled", "expired")
    finished = sum(r.status == "finished" for r in runs)
    return {
        "runs": len(runs),
        "by_status": {s: sum(r.status == s for r in runs) for s in statuses},
        "terminal_runs": len(terminal),
        "success_rate": round(finished / len(terminal), 4) if terminal else None,
        "duration_ms": {"p50": _rank(durations, 0.5), "p90": _rank(durations, 0.9),
                        "runs": len(durations)},
        "pull_requests": sum(1 for r in runs if r.pull_request_url),
        "tokens": {"total": sum(tokens) if tokens else None,
                   "per_run": round(sum(tokens) / len(tokens)) if tokens else None,
                   "runs": len(tokens)},
        "cost": {"total": _usd(Decimal(sum(costs))) if costs else None,
                 "per_run": _usd(per_run) if costs else None, "runs": len(costs),
                 "currency": "USD"},
    }  # fmt: skip


async def test_agent_runs_by_person_and_team(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        people: list[dict[str, Any]] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
            page = await _json(x, "/analytics/agents", integrated_account_id=x.account_id,
                               limit=1, **PERIOD, **extra)  # fmt: skip
            people += page["result"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        narrow = await _json(x, "/analytics/agents", integrated_account_id=x.account_id,
                             start_date="2026-06-10", end_date="2026-06-16")  # fmt: skip

    def day(r: AgentRunRecord) -> dt.date:
        return dt.datetime.fromtimestamp(r.created_at_ms / 1000, tz=dt.UTC).date()

    runs = [r for r in x.runs if START <= day(r) < END]
    assert page["totals"] == _figures(runs)
    by_person: dict[str | None, list[AgentRunRecord]] = defaultdict(list)
    by_team: dict[str | None, list[AgentRunRecord]] = defaultdict(list)
    for r in runs:
        by_person[r.user_email].append(r)
        by_team[x.teams.get(r.user_email) if r.user_email else None].append(r)
    assert [p["user_email"] for p in people] == sorted(
        by_person, key=lambda e: (e is None, e or "")
    )
    for p in people:
        assert {k: v for k, v in p.items() if k != "user_email"} == _figures(
            by_person[p["user_email"]]
        ), p["user_email"]
    assert {t["team"]: {k: v for k, v in t.items() if k != "team"} for t in page["by_team"]} == {
        team: _figures(rows) for team, rows in by_team.items()
    }
    recent = [r for r in x.runs if dt.date(2026, 6, 10) <= day(r) < END]
    assert narrow["totals"] == _figures(recent)


async def test_what_the_team_uses_ai_for(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        body = await _json(x, "/analytics/ai-usage", integrated_account_id=x.account_id,
                           granularity="week", top=1, **PERIOD)  # fmt: skip
        only = await _json(x, "/analytics/ai-usage", integrated_account_id=x.account_id,
                           kind=["mcp_tool"], **PERIOD)  # fmt: skip
        bad = await x.api.get("/analytics/ai-usage", integrated_account_id=x.account_id,
                              kind="transcripts")  # fmt: skip
    assert bad.status_code == 400
    # The team's count where there is one for the day and kind, else the people's summed.
    team_days = {(c.day, c.kind) for c in x.counts if not c.user_email}
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    weekly: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in x.counts:
        if c.user_email and (c.day, c.kind) in team_days:
            continue
        sums[c.kind][c.key] += c.value
        monday = c.day - dt.timedelta(days=c.day.weekday())
        weekly[(c.kind, c.key)][monday.isoformat()] += c.value
    got = {k["kind"]: k for k in body["result"]}
    assert set(got) == set(sums) - {"active_users"}
    for kind, entry in got.items():
        ranked = sorted(sums[kind].items(), key=lambda kv: (-kv[1], kv[0]))
        assert entry["total"] == sum(sums[kind].values())
        assert [(k["key"], k["total"]) for k in entry["keys"]] == ranked[:1]
        assert entry["others"] == sum(v for _, v in ranked[1:])
        top = entry["keys"][0]
        assert {p["period_start"]: p["value"] for p in top["periods"]} == weekly[(kind, top["key"])]
    assert got["command"]["total"] == 5 * 10  # the people's /review counts are the team's
    assert [k["kind"] for k in only["result"]] == ["mcp_tool"]
    assert {k["key"] for k in only["result"][0]["keys"]} == {"github/create_pr", "linear/get_issue"}
