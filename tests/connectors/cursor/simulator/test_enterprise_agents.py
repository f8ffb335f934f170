"""Cloud Agents read paths: agents and runs made of the team's cloud-agent usage events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from unimeter.connectors.cursor.simulator import SimulatedCursor

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
TOKENS = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def _all_agents(client: httpx.AsyncClient, path: str = "/v1/agents", **params: str) -> Any:
    items: list[Any] = []
    cursor: str | None = None
    key = "items" if path.startswith("/v1") else "agents"
    while True:
        query = {**params, "limit": "37", **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body[key])
        if "nextCursor" not in body:
            return items
        assert body["nextCursor"] is not None, "omitted, never null, at the end"
        cursor = body["nextCursor"]


async def test_agents_are_listed_newest_first_and_page_by_cursor(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    listed = await _all_agents(client, includeArchived="true")
    assert len(listed) > 50
    created = [a["createdAt"] for a in listed]
    assert created == sorted(created, reverse=True)
    assert [a["id"] for a in listed] == [a["id"] for a in sim.truth().agents(retention=True)]
    default = await _all_agents(client)
    assert {a["status"] for a in default} <= {"ACTIVE", "IDLE"}
    assert len(default) < len(listed), "archived agents are left out unless asked for"


async def test_each_run_uses_exactly_the_tokens_of_its_events(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    agents = [a for a in sim.truth().agents() if _ms(a["createdAt"]) > NOW_MS - 10 * DAY][:25]
    assert agents
    for agent in agents:
        events = (
            await client.post(
                "/teams/filtered-usage-events",
                json={
                    "startDate": NOW_MS - 12 * DAY,
                    "endDate": NOW_MS,
                    "cloudAgentId": agent["id"],
                    "pageSize": 1000,
                },
            )
        ).json()["usageEvents"]
        usage = (await client.get(f"/v1/agents/{agent['id']}/usage")).json()
        runs = (await client.get(f"/v1/agents/{agent['id']}/runs")).json()["items"]
        assert [r["id"] for r in usage["runs"]] == [r["id"] for r in reversed(runs)]
        for run, run_usage in zip(reversed(runs), usage["runs"], strict=True):
            lo, hi = _ms(run["createdAt"]), _ms(run["updatedAt"])
            mine = [e for e in events if lo <= int(e["timestamp"]) <= hi]
            assert mine, run["id"]
            for name in TOKENS:
                expected = sum(e.get("tokenUsage", {}).get(name, 0) for e in mine)
                assert run_usage["usage"][name] == expected, (run["id"], name)
        in_runs = sum(
            1
            for e in events
            if any(_ms(r["createdAt"]) <= int(e["timestamp"]) <= _ms(r["updatedAt"]) for r in runs)
        )
        assert in_runs == len(events), "every event belongs to one run"
        assert usage == sim.truth().run_usage(agent["id"])
        total = usage["totalUsage"]
        assert total["totalTokens"] == sum(total[name] for name in TOKENS)


async def test_runs_have_outcomes_durations_and_pull_requests(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    runs = [r for a in sim.truth().agents()[:300] for r in sim.truth().runs(a["id"])]
    statuses = {r["status"] for r in runs}
    assert {"FINISHED", "ERROR", "CANCELLED", "EXPIRED"} <= statuses
    assert all("durationMs" in r for r in runs if r["status"] != "RUNNING")
    assert any("prUrl" in b for r in runs for b in r["git"]["branches"])
    one = runs[0]
    served = await client.get(f"/v1/agents/{one['agentId']}/runs/{one['id']}")
    assert served.json() == one


async def test_unknown_agents_and_runs_are_404_with_a_code(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    missing = await client.get("/v1/agents/bc-00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "agent_not_found"
    agent = sim.truth().agents()[0]["id"]
    run = await client.get(f"/v1/agents/{agent}/usage", params={"runId": "run-nope"})
    assert run.status_code == 404 and run.json()["error"]["code"] == "run_not_found"
    bad = await client.get("/v1/agents", params={"limit": "101"})
    assert bad.status_code == 400


async def test_v0_lists_the_same_agents_with_its_own_shape(
    sim: SimulatedCursor, client: httpx.AsyncClient
) -> None:
    v0 = await _all_agents(client, "/v0/agents")
    v1 = await _all_agents(client, includeArchived="true")
    assert [a["id"] for a in v0] == [a["id"] for a in v1]
    assert {a["status"] for a in v0} <= {"CREATING", "RUNNING", "FINISHED", "ERROR", "EXPIRED"}
    one = await client.get(f"/v0/agents/{v0[0]['id']}")
    assert one.json() == v0[0]
    assert one.json()["source"]["repository"].startswith("https://github.com/")


async def test_bearer_auth_and_me(sim: SimulatedCursor) -> None:
    async with client_for(sim) as client:
        client.auth = None  # type: ignore[assignment]
        headers = {"Authorization": f"Bearer {sim.keys[0]}"}
        me = await client.get("/v1/me", headers=headers)
        assert me.status_code == 200 and set(me.json()) == {"apiKeyName", "createdAt"}
        admin = await client.get("/teams/members", headers=headers)
        assert admin.status_code == 401, "bearer is for Cloud Agents only"


async def test_cloud_agents_are_open_to_every_plan() -> None:
    async with client_for(make_sim(plan="team")) as client:
        assert (await client.get("/v1/agents")).status_code == 200
        assert (await client.get("/analytics/ai-code/commits")).status_code == 403


async def test_enterprise_bodies_are_deterministic_and_follow_the_clock() -> None:
    paths = ["/v1/agents", "/analytics/team/dau", "/analytics/ai-code/changes"]
    bodies = []
    for _ in range(2):
        async with client_for(make_sim()) as client:
            bodies.append([(await client.get(p)).content for p in paths])
    assert bodies[0] == bodies[1]
    sim = make_sim()
    async with client_for(sim) as client:
        before = len(
            (await client.get("/analytics/ai-code/changes", params={"startDate": "1d"})).json()[
                "items"
            ]
        )
        sim.clock.advance(hours=3)
        after = (await client.get("/analytics/ai-code/changes", params={"startDate": "1d"})).json()
        assert after["totalCount"] > 0 and before > 0
        assert (await client.get("/v1/agents")).status_code == 200


def test_an_agent_changes_only_with_a_later_updated_at() -> None:
    """What lets a reader skip an agent whose ``updatedAt`` it has seen: over a day of
    hourly looks, runs and usage never change unless ``updatedAt`` moves forward."""
    sim = make_sim(now_ms=NOW_MS - DAY)
    seen: dict[str, tuple[str, Any]] = {}
    changed = 0
    for _ in range(24):
        sim.clock.advance(hours=1)
        truth = sim.truth()
        for agent in truth.agents():
            if _ms(agent["createdAt"]) < sim.clock.now_ms() - 2 * DAY:
                continue
            state = (truth.runs(agent["id"]), truth.run_usage(agent["id"]))
            before = seen.get(agent["id"])
            if before is not None and before[1] != state:
                changed += 1
                assert _ms(agent["updatedAt"]) > _ms(before[0]), agent["id"]
            if before is not None:
                assert _ms(agent["updatedAt"]) >= _ms(before[0]), "updatedAt never goes back"
            seen[agent["id"]] = (agent["updatedAt"], state)
    assert changed > 0, "some agents ran on while being watched"


def test_finding_one_agent_gives_what_the_listing_holds() -> None:
    sim = make_sim(users=12, days=20)
    book, now = sim.all_services(sim.keys[0]).agents, sim.clock.now_ms()
    for retention in (True, False):
        listed = book.agents(now, retention=retention)
        assert listed
        for agent in listed:
            found = book.find(agent.id, now, retention=retention)
            assert found is not None
            assert (found.key, found.user, found.hosting, found.runs) == (
                agent.key, agent.user, agent.hosting, agent.runs
            )  # fmt: skip
    assert book.find("bc-00000000-0000-4000-8000-000000000000", now) is None
