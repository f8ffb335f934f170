"""The ``agent_runs`` stream against the simulator's Cloud Agents: one record per v1 run equal
to the truth (status, PR, duration, tokens of the usage endpoint), each agent read once per
run; without v1 (404) one record per v0 agent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.code_mapping import iso_ms
from unimeter.connectors.cursor.simulator import create_app
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.records import AgentRunRecord
from unimeter.connectors.windows import plan_windows

from .conftest import FAST_RETRY, make_sim, sim_client, unlimited_budget


def expected_run(
    agent: dict[str, Any], run: dict[str, Any], usage: dict[str, Any]
) -> tuple[object, ...]:
    branches = run.get("git", {}).get("branches", [])
    first = branches[0] if branches else {}
    tokens = usage.get(run["id"])
    return (
        run["id"], agent["id"], None, agent["name"], run["status"].lower(),
        first.get("repoUrl"), first.get("branch"),
        next((b["prUrl"] for b in branches if b.get("prUrl")), None),
        iso_ms(run["createdAt"]), run.get("durationMs"),
        *((tokens["inputTokens"], tokens["outputTokens"], tokens["cacheReadTokens"],
           tokens["cacheWriteTokens"]) if tokens else (None,) * 4),
    )  # fmt: skip


def run_fields(r: AgentRunRecord) -> tuple[object, ...]:
    return (
        r.key, r.agent_id, r.user_email, r.name, r.status, r.repository, r.branch,
        r.pull_request_url, r.created_at_ms, r.duration_ms, r.input_tokens, r.output_tokens,
        r.cache_read_tokens, r.cache_write_tokens,
    )  # fmt: skip


async def read_runs(source: CursorSource, start_ms: int, now_ms: int) -> list[AgentRunRecord]:
    out: list[AgentRunRecord] = []
    for window in plan_windows(start_ms, now_ms, 30):
        async for batch in source.fetch("agent_runs", window):
            out.extend(r for r in batch if isinstance(r, AgentRunRecord))
    return out


async def test_every_v1_run_equals_the_truth_with_its_usage() -> None:
    sim = make_sim(plan="enterprise", enterprise_apis=True, users=12, days=40)
    truth = sim.truth()
    start, now = truth.history_start_ms, truth.now_ms
    expected: list[tuple[object, ...]] = []
    for agent in truth.agents(retention=True):
        usage = {u["id"]: u["usage"] for u in truth.run_usage(agent["id"])["runs"]}
        expected.extend(expected_run(agent, run, usage) for run in truth.runs(agent["id"]))
    assert expected, "the simulated team runs cloud agents"
    async with sim_client(sim) as client:
        source = CursorSource(client)
        records = await read_runs(source, start, now)
        asked = source.counters("agent_runs").requests
    assert sorted(map(run_fields, records), key=repr) == sorted(expected, key=repr)
    statuses = {r.status for r in records}
    assert {"finished", "error"} <= statuses
    assert any(r.pull_request_url for r in records)
    # The listing once, then the runs and usage of each agent once (however many windows).
    agents = len(truth.agents(retention=True))
    assert asked <= 2 * agents + 1 + agents // 100


async def test_the_next_run_reads_only_the_agents_that_changed() -> None:
    """An hourly run: the agents whose ``updatedAt`` moved since their runs were stored are
    read again (runs and usage), the others cost nothing beyond the listing."""
    sim = make_sim(plan="enterprise", enterprise_apis=True, users=12, days=40)
    truth = sim.truth()
    start, first_now = truth.history_start_ms, truth.now_ms
    async with sim_client(sim) as client:
        first = CursorSource(client)
        await read_runs(first, start, first_now)
        memory = first.memory("agent_runs")
        assert memory["agents"], "every agent read is remembered"
        sim.clock.advance(hours=1)
        now = sim.clock.now_ms()
        agents = truth.agents(retention=True)
        moved = [
            a for a in agents if _ms(a["updatedAt"]) > first_now or _ms(a["createdAt"]) > first_now
        ]
        lookback = (first_now // 86_400_000 - 2) * 86_400_000
        again = CursorSource(client)
        again.restore("agent_runs", memory)
        records = await read_runs(again, lookback, now)
        asked = again.counters("agent_runs").requests
    listing = 1 + len(agents) // 100
    assert asked == listing + 2 * len(moved), (asked, len(moved))
    assert {r.agent_id for r in records} == {a["id"] for a in moved if truth.runs(a["id"])}


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


class _NoV1:
    """Cursor before v1: ``/v1/…`` answers 404 (the transport seam, not a patch)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            body = b'{"error":{"code":"not_found","message":"Not Found"}}'
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_without_v1_each_v0_agent_is_one_record() -> None:
    sim = make_sim(plan="enterprise", enterprise_apis=True, users=12, days=40)
    truth = sim.truth()
    client = CursorClient(
        sim.keys[0],
        base_url="http://cursor.test",
        transport=httpx.ASGITransport(app=_NoV1(create_app(sim))),
        budget=unlimited_budget(),
        retry=FAST_RETRY,
    )
    async with client:
        records = await read_runs(CursorSource(client), truth.history_start_ms, truth.now_ms)
    agents = truth.agents(retention=True)
    assert sorted(r.key for r in records) == sorted(a["id"] for a in agents)
    assert all(r.key == r.agent_id and r.input_tokens is None for r in records)
    assert {r.status for r in records} <= {"creating", "running", "finished", "error", "expired"}


class _ListingWithoutTimes(httpx.AsyncBaseTransport):
    """A listing whose items carry "only the identity fields" (cursor-api.md §5): no
    ``createdAt`` or ``updatedAt``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path != "/v1/agents" or response.status_code != 200:
            return response
        await response.aread()
        body = response.json()
        for item in body["items"]:
            item.pop("createdAt", None)
            item.pop("updatedAt", None)
        return httpx.Response(200, json=body)


async def test_a_listing_without_times_skips_idle_agents_whose_latest_run_is_stored() -> None:
    sim = make_sim(plan="enterprise", enterprise_apis=True, users=12, days=40)
    truth = sim.truth()
    start, first_now = truth.history_start_ms, truth.now_ms

    def client() -> CursorClient:
        transport = _ListingWithoutTimes(httpx.ASGITransport(app=create_app(sim)))
        return CursorClient(sim.keys[0], base_url="http://cursor.test", transport=transport,
                            budget=unlimited_budget(), retry=FAST_RETRY)  # fmt: skip

    def state(agent_id: str) -> tuple[object, ...]:
        return (truth.runs(agent_id), truth.run_usage(agent_id))

    async with client() as first_client:
        first = CursorSource(first_client)
        await read_runs(first, start, first_now)
    before = {a["id"]: (a["latestRunId"], a["status"], state(a["id"])) for a in truth.agents()}
    sim.clock.advance(hours=6)
    agents = truth.agents(retention=True)
    must_read = {
        a["id"]
        for a in agents
        if a["status"] == "ACTIVE" or before.get(a["id"], (None,))[:2] != (a["latestRunId"], a["status"])
    }  # fmt: skip
    skipped = [a["id"] for a in agents if a["id"] not in must_read]
    assert skipped and must_read, "the hours have both idle and moving agents"
    # What makes skipping safe: nothing about a skipped agent changed.
    assert all(state(agent_id) == before[agent_id][2] for agent_id in skipped)
    async with client() as again_client:
        again = CursorSource(again_client)
        again.restore("agent_runs", first.memory("agent_runs"))
        # Without times every agent touches every window: one window is enough.
        await read_runs(again, truth.now_ms - 6 * 3_600_000, truth.now_ms)
        asked = again.counters("agent_runs").requests
    assert asked == 1 + len(agents) // 100 + 2 * len(must_read)
