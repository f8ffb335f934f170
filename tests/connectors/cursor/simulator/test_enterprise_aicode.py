"""AI Code Tracking: commits and changes drawn from the same team-days as the Admin API."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from typing import Any

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig
from unimeter.connectors.cursor.simulator.codegen import generate_code_day

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
WEEK = {"startDate": "7d", "endDate": "now"}


async def _all(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    page = 1
    while True:
        response = await client.get(path, params={**params, "page": str(page), "pageSize": "250"})
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if page * 250 >= body["totalCount"]:
            assert len(items) == body["totalCount"]
            return items
        page += 1


async def test_commits_are_deterministic_and_shaped_as_documented() -> None:
    bodies = []
    for _ in range(2):
        async with client_for(make_sim()) as client:
            response = await client.get("/analytics/ai-code/commits", params=WEEK)
        assert response.status_code == 200
        bodies.append(response.content)
    assert bodies[0] == bodies[1]
    body = json.loads(bodies[0])
    assert set(body) == {"items", "totalCount", "page", "pageSize"}
    assert body["totalCount"] > 20
    commit = body["items"][0]
    assert commit["commitSource"] in ("ide", "cli", "cloud")
    assert commit["userId"].startswith("user_")
    assert commit["commitTs"].endswith("Z") and commit["createdAt"] >= commit["commitTs"]


async def test_paging_covers_every_commit_once(client: httpx.AsyncClient) -> None:
    whole = await client.get("/analytics/ai-code/commits", params={**WEEK, "pageSize": "1000"})
    paged = await _all(client, "/analytics/ai-code/commits", WEEK)
    assert paged == whole.json()["items"]


async def test_page_size_is_capped_at_1000(client: httpx.AsyncClient) -> None:
    response = await client.get("/analytics/ai-code/commits", params={"pageSize": "1001"})
    assert response.status_code == 400


async def test_commit_ai_lines_never_exceed_the_daily_usage(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    params = {"startDate": "20d", "endDate": "now"}
    commits = await _all(client, "/analytics/ai-code/commits", params)
    assert any(c["commitSource"] == "cloud" for c in commits)
    assert len({c["commitHash"] for c in commits}) < len(commits), "some hashes repeat"
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in commits:  # naive sum, repeated hashes included
        key = (c["userEmail"], c["commitTs"][:10])
        sums[key][0] += c["tabLinesAdded"] + c["composerLinesAdded"]
        sums[key][1] += c["tabLinesDeleted"] + c["composerLinesDeleted"]
    usage = {
        (row["email"], row["day"]): (row["acceptedLinesAdded"], row["acceptedLinesDeleted"])
        for row in sim.truth().daily_usage(NOW_MS - 21 * DAY, NOW_MS)
    }
    for key, (added, deleted) in sums.items():
        assert added <= usage[key][0] and deleted <= usage[key][1], key


async def test_commit_line_totals_add_up(client: httpx.AsyncClient) -> None:
    for c in await _all(client, "/analytics/ai-code/commits", WEEK):
        ai = c["tabLinesAdded"] + c["composerLinesAdded"]
        if c["nonAiLinesAdded"] is not None:
            assert c["nonAiLinesAdded"] == max(0, c["totalLinesAdded"] - ai)
        assert c["totalLinesAdded"] >= ai


async def test_changes_match_the_daily_accepted_counts(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    day = NOW_MS // DAY - 3
    start, end = _iso_day(day), _iso_day(day) + "T23:59:59.999Z"
    changes = await _all(client, "/analytics/ai-code/changes", {"startDate": start, "endDate": end})
    tabs: dict[str, int] = defaultdict(int)
    agent: dict[str, int] = defaultdict(int)
    lines: dict[str, int] = defaultdict(int)
    for ch in changes:
        (tabs if ch["source"] == "TAB" else agent)[ch["userEmail"]] += 1
        lines[ch["userEmail"]] += ch["totalLinesAdded"]
        assert sum(f["linesAdded"] for f in ch["metadata"]) == ch["totalLinesAdded"]
        assert (ch["model"] is None) == (ch["source"] == "TAB")
    rows = sim.truth().daily_usage(day * DAY, day * DAY + DAY - 1)
    for row in rows:
        assert tabs[row["email"]] == row["totalTabsAccepted"]
        assert agent[row["email"]] == row["totalAccepts"]
        assert lines[row["email"]] <= row["acceptedLinesAdded"]
    assert any("fileName" not in f for ch in changes for f in ch["metadata"]), "privacy mode"


@pytest.mark.parametrize("kind", ["commits", "changes"])
async def test_csv_equals_json(client: httpx.AsyncClient, kind: str) -> None:
    items = await _all(client, f"/analytics/ai-code/{kind}", WEEK)
    response = await client.get(f"/analytics/ai-code/{kind}.csv", params=WEEK)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        for name, value in item.items():
            column = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)
            if name == "metadata":
                assert json.loads(row["metadata_json"]) == value
            elif value is None:
                assert row[column] == ""
            elif isinstance(value, bool):
                assert row[column] == str(value).lower()
            else:
                assert row[column] == str(value), column


async def test_user_filter_takes_an_email_a_user_id_or_a_numeric_id(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    commits = await _all(client, "/analytics/ai-code/commits", WEEK)
    member = next(m for m in sim.truth().members() if m.email == commits[0]["userEmail"])
    expected = [c for c in commits if c["userEmail"] == member.email]
    for user in (member.email, member.user_id, str(member.numeric_id)):
        assert await _all(client, "/analytics/ai-code/commits", {**WEEK, "user": user}) == expected
    unknown = await client.get("/analytics/ai-code/commits", params={"user": "nobody@x.dev"})
    assert unknown.status_code == 400


async def test_truth_serves_what_the_api_serves(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    start, end = NOW_MS - 7 * DAY, NOW_MS
    commits = await _all(client, "/analytics/ai-code/commits", WEEK)
    changes = await _all(client, "/analytics/ai-code/changes", WEEK)
    assert sim.truth().commits(start, end) == commits
    assert sim.truth().changes(start, end) == changes


async def test_etag_304_costs_no_rate_limit() -> None:
    sim = make_sim(rate_limits="real", minute_seconds=3600.0)
    async with client_for(sim) as client:
        first = await client.get("/analytics/ai-code/commits", params=WEEK)
        tag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=900"
        for _ in range(30):
            again = await client.get(
                "/analytics/ai-code/commits", params=WEEK, headers={"If-None-Match": tag}
            )
            assert again.status_code == 304 and again.content == b""
        other = await client.get("/analytics/ai-code/commits", params={"startDate": "3d"})
        assert other.status_code == 200 and other.headers["etag"] != tag


async def test_each_endpoint_has_its_own_20_per_minute_limit() -> None:
    sim = make_sim(rate_limits="real", minute_seconds=3600.0)
    async with client_for(sim) as client:
        for _ in range(20):
            ok = await client.get("/analytics/ai-code/commits")
            assert ok.status_code == 200
        limited = await client.get("/analytics/ai-code/commits")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "Too Many Requests"
        assert (await client.get("/analytics/ai-code/changes")).status_code == 200


async def test_the_team_plan_is_refused_without_spending_the_limit() -> None:
    sim = make_sim(plan="team", rate_limits="real", minute_seconds=3600.0)
    async with client_for(sim) as client:
        for _ in range(25):
            response = await client.get("/analytics/ai-code/changes.csv")
            assert response.status_code == 403
    assert sim.requests[sim.keys[0]] == 0


def _iso_day(day: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


def test_a_day_without_requests_still_has_its_code_changes() -> None:
    """A small team's quiet day: no requests at all, yet accepted lines (a composer change
    takes the model of one of the member's requests that day, and there is none)."""
    key = "crsr_" + hashlib.sha256(b"fleet:small:119").hexdigest()
    day = 20_792
    sim = SimulatedCursor(SimulatorConfig(
        seed=11, users=8, days=3, now_ms=(day + 1) * DAY + 16 * 3_600_000, plan="enterprise",
        api_keys=(key,),
        rate_limits="off",
    ))  # fmt: skip
    team = sim.team(key)
    assert team.day(day).events.size == 0
    changes = generate_code_day(team, day).changes
    assert changes.user.size > 0
    assert set(changes.model.tolist()) <= {0, -1}
