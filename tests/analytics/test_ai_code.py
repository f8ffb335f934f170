"""``/analytics/ai-code`` against a computation made here from the commits the test wrote,
the Cursor account's own consumption answer (the costs) and its adoption answer."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.analytics.codeworld import END, PERIOD, START, CodeWorld, code_world
from unimeter.connectors.records import CommitRecord

CENTS_E6 = Decimal(100 * 10**6)


async def _json(x: CodeWorld, path: str, **params: Any) -> Any:
    response = await x.api.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def _walk(x: CodeWorld, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor, first = None, None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        page = await _json(x, "/analytics/ai-code", integrated_account_id=x.account_id,
                           **PERIOD, **params, **extra)  # fmt: skip
        first = first or page
        assert page["totals"] == first["totals"], "the totals cover every page"
        rows += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, first


def _day(c: CommitRecord) -> dt.date:
    return dt.datetime.fromtimestamp(c.committed_at_ms / 1000, tz=dt.UTC).date()


def _period(day: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return START if granularity == "total" else day


def _sums(commits: list[CommitRecord]) -> dict[str, Any]:
    added = sum(c.lines_added for c in commits)
    ai = sum(c.completion_lines_added + c.agent_lines_added for c in commits)
    known = [c.human_lines_added for c in commits if c.human_lines_added is not None]
    return {
        "commits": len(commits),
        "lines_added": added,
        "tab_lines_added": sum(c.completion_lines_added for c in commits),
        "agent_lines_added": sum(c.agent_lines_added for c in commits),
        "human_lines_added": sum(known) if known else None,
        "ai_share": round(ai / added, 4) if added else None,
        "active_authors": len({c.user_email.lower() for c in commits}),
    }


def _expected(
    x: CodeWorld, by: str, granularity: str, primary: bool
) -> dict[tuple[Any, str], dict[str, Any]]:
    kept = [c for c in x.commits if START <= _day(c) < END
            and (c.is_primary_branch is True or not primary)]  # fmt: skip
    groups: dict[tuple[Any, str], list[CommitRecord]] = defaultdict(list)
    for c in kept:
        name = {"team": x.teams.get(c.user_email.lower()), "user": c.user_email.lower(),
                "repository": c.repository}[by]  # fmt: skip
        groups[(name, _period(_day(c), granularity).isoformat())].append(c)
    return {key: _sums(rows) for key, rows in groups.items()}


def _cents(amount: str) -> int:
    return int(Decimal(amount) * CENTS_E6)


async def test_lines_by_origin_per_group_and_period(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        answers = {
            (by, granularity, branch): await _walk(
                x, group_by=by, granularity=granularity, branch=branch, limit=3
            )
            for by, granularity, branch in [
                ("team", "week", "all"), ("user", "month", "all"),
                ("repository", "total", "primary"), ("team", "day", "primary"),
            ]
        }  # fmt: skip
        bad = await x.api.get("/analytics/ai-code", integrated_account_id=x.account_id,
                              group_by="model")  # fmt: skip
    assert bad.status_code == 400

    field = {"team": "team", "user": "user_email", "repository": "repository"}
    for (by, granularity, branch), (rows, first) in answers.items():
        want = _expected(x, by, granularity, branch == "primary")
        got = {(r[field[by]], r["period_start"]): {k: v for k, v in r.items()
               if k not in ("period_start", "period_end", field[by])} for r in rows}  # fmt: skip
        assert got == want, (by, granularity, branch)
        keys = [(r[field[by]] is None, r[field[by]] or "", r["period_start"]) for r in rows]
        assert keys == sorted(keys), "named groups first, by name, then period"
        kept = [c for c in x.commits if START <= _day(c) < END
                and (c.is_primary_branch is True or branch == "all")]  # fmt: skip
        assert first["totals"] == _sums(kept)
        unknown = sum(1 for c in kept if c.human_lines_added is None)
        assert first["coverage"]["commits_without_human_lines"] == unknown > 0
    # The totals hold exactly the names.
    assert set(answers[("team", "week", "all")][1]["totals"]) == {
        "commits", "lines_added", "tab_lines_added", "agent_lines_added", "human_lines_added",
        "ai_share", "active_authors",
    }  # fmt: skip


@pytest.mark.parametrize("tracked_from", [None, dt.date(2026, 5, 20)])
async def test_cost_per_ai_line_by_team_and_month(
    database_url: str, data_dir: Path, tracked_from: dt.date | None
) -> None:
    """Spend over AI lines; with tracking turned on inside the range, only the spend from
    its first tracked day counts (the weeks before wrote no tracked line), and a note says so."""
    async with code_world(database_url, data_dir, tracked_from=tracked_from) as x:
        body = await _json(x, "/analytics/ai-code", integrated_account_id=x.account_id, **PERIOD)
        first = min(_day(c) for c in x.commits)
        spent_from = max(START, first).isoformat()
        usage = await _json(x, "/analytics/consumption", integrated_account_id=x.account_id,
                            granularity="month", limit=10000, **{"group_by[]": "user"},
                            start_date=spent_from, end_date=PERIOD["end_date"])  # fmt: skip
        adoption = await _json(x, "/analytics/adoption", integrated_account_id=x.account_id,
                               **PERIOD)  # fmt: skip
    assert usage["next_cursor"] is None
    cost: dict[tuple[str, Any], int] = defaultdict(int)
    for r in usage["result"]:
        cost[(r["period_start"], x.teams.get(r["user_email"].lower()))] += _cents(
            r["cost"]["charged"]
        )
    lines: dict[tuple[str, Any], int] = defaultdict(int)
    for c in x.commits:
        if START <= _day(c) < END:
            key = (_period(_day(c), "month").isoformat(), x.teams.get(c.user_email.lower()))
            lines[key] += c.completion_lines_added + c.agent_lines_added

    def unit(spent: int, n: int) -> str | None:
        if not n:
            return None
        exact = (Decimal(spent) / n).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
        return format((exact / CENTS_E6).normalize(), "f")

    cards = {r["team"]: r for r in adoption["result"]}
    teams = {team for _, team in [*cost, *lines]}
    assert [t["team"] for t in body["cost_per_ai_line"]] == sorted(
        teams, key=lambda t: (t is None, t or "")
    )
    for entry in body["cost_per_ai_line"]:
        team = entry["team"]
        months = {m: (cost.get((m, team), 0), lines.get((m, team), 0))
                  for m, t in [*cost, *lines] if t == team}  # fmt: skip
        got = {m["period_start"]: (_cents(m["cost"]), m["ai_lines_added"], m["cost_per_ai_line"])
               for m in entry["months"]}  # fmt: skip
        assert got == {m: (c, n, unit(c, n)) for m, (c, n) in months.items()}, team
        spent = sum(c for c, _ in months.values())
        written = sum(n for _, n in months.values())
        assert entry["cost_per_ai_line"] == unit(spent, written)
        assert entry["adoption"]["mau"] == cards.get(team, {}).get("mau")
        assert entry["adoption"]["members"] == cards.get(team, {}).get("members")
    red = next(e for e in body["cost_per_ai_line"] if e["team"] == "red")
    assert red["cost_per_ai_line"] is not None and _cents(red["cost"]) > 0
    noted = [n for n in body["notes"] if n["code"] == "cost_tracked_since"]
    if tracked_from is None:
        assert not noted
    else:
        assert first > START
        assert [(n["integrated_account_id"], n["affects"]) for n in noted] == [
            (x.account_id, ["cost_per_ai_line"])
        ]
        assert first.isoformat() in noted[0]["message"]


async def test_other_environments_and_foreign_cursors_are_refused(
    database_url: str, data_dir: Path
) -> None:
    async with code_world(database_url, data_dir) as x:
        foreign = x.api.accounts["other"]
        refused = {
            path: (await x.api.get(path, integrated_account_id=foreign)).status_code
            for path in ("/analytics/ai-code", "/analytics/agents", "/analytics/ai-usage",
                         "/exports/productivity")
        }  # fmt: skip
        page = await _json(x, "/analytics/ai-code", integrated_account_id=x.account_id, limit=1,
                           **PERIOD)  # fmt: skip
        reused = await x.api.get(
            "/analytics/ai-code", integrated_account_id=x.account_id, group_by="user",
            next_cursor=page["next_cursor"], **PERIOD,
        )  # fmt: skip
        tenant = await _json(x, "/analytics/ai-code", tenant_id="tenant-default", **PERIOD)
        whole = await _json(x, "/analytics/ai-code", integrated_account_id=x.account_id, **PERIOD)
    assert refused == dict.fromkeys(refused, 404)
    assert page["next_cursor"] and reused.status_code == 400, "a cursor is bound to its query"
    assert tenant["totals"] == whole["totals"], "the tenant holds the one account with commits"
