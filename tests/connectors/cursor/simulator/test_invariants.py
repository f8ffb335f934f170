"""Invariants that must hold in every response, checked over several seeds."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
SEEDS = [1, 2, 3, 11]


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d")


async def _all_events(client: httpx.AsyncClient, start: int, end: int) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    page = 1
    while True:
        body = (
            await client.post(
                "/teams/filtered-usage-events",
                json={"startDate": start, "endDate": end, "page": page, "pageSize": 1000},
            )
        ).json()
        events.extend(body["usageEvents"])
        if not body["pagination"]["hasNextPage"]:
            return events
        page += 1


@pytest.mark.parametrize("seed", SEEDS)
async def test_daily_request_counters_equal_event_counts(seed: int) -> None:
    sim = make_sim(seed=seed)
    end = NOW_MS
    start = NOW_MS // DAY * DAY - 20 * DAY
    truth = sim.truth()
    email_by_user = {m.user_id: m.email for m in truth.members()}
    per_user_day = Counter(
        (email_by_user[e.user_id], _day(e.timestamp_ms)) for e in truth.events(start, end)
    )
    async with client_for(sim) as client:
        served = await _all_events(client, start, end)
        rows = []
        page = 1
        while True:
            body = (
                await client.post(
                    "/teams/daily-usage-data",
                    json={"startDate": start, "endDate": end, "page": page, "pageSize": 10},
                )
            ).json()
            rows.extend(body["data"])
            if not body["pagination"]["hasNextPage"]:
                break
            page += 1
    assert len(served) == sum(per_user_day.values())
    checked = 0
    for row in rows:
        reqs = row["subscriptionIncludedReqs"] + row["usageBasedReqs"] + row["apiKeyReqs"]
        assert reqs == per_user_day.get((row["email"], row["day"]), 0), row
        agent_chat = (
            row["agentRequests"] + row["chatRequests"] + row["composerRequests"] + row["cmdkUsages"]
        )
        assert agent_chat == reqs
        checked += reqs
    assert checked == sum(per_user_day.values()), "every event is counted in some daily row"


@pytest.mark.parametrize("seed", SEEDS)
async def test_spend_equals_charged_cents_since_cycle_start(seed: int) -> None:
    sim = make_sim(seed=seed)
    async with client_for(sim) as client:
        spend = (await client.post("/teams/spend", json={"pageSize": 1000})).json()
        cycle_start = spend["subscriptionCycleStart"]
        events = await _all_events(client, cycle_start, NOW_MS)
    truth = sim.truth()
    charged: dict[str, float] = defaultdict(float)
    on_demand: dict[str, float] = defaultdict(float)
    for e in truth.events(cycle_start, NOW_MS):
        charged[e.email] += e.payload["chargedCents"]
        if e.payload["kind"] == "Usage-based":
            on_demand[e.email] += e.payload["chargedCents"]
    assert sum(float(str(e["chargedCents"])) for e in events) == pytest.approx(
        sum(charged.values()), abs=0.01
    )
    assert spend["teamMemberSpend"]
    for row in spend["teamMemberSpend"]:
        assert row["overallSpendCents"] == pytest.approx(charged[row["email"]], abs=0.01)
        assert row["spendCents"] == pytest.approx(on_demand[row["email"]], abs=0.01)


@pytest.mark.parametrize("seed", SEEDS)
async def test_group_spend_equals_members_events_while_in_group(seed: int) -> None:
    sim = make_sim(seed=seed)
    truth = sim.truth()
    async with client_for(sim) as client:
        body = (await client.get("/teams/groups")).json()
    cycle_start = truth.cycle_start_ms()
    stints = {m.email: m.group_stints for m in truth.members()}
    expected: dict[str, float] = defaultdict(float)
    for e in truth.events(cycle_start, NOW_MS):
        group = "group_unassigned"
        for group_id, joined, left in stints[e.email]:
            if joined <= e.timestamp_ms and (left is None or e.timestamp_ms < left):
                group = group_id
        expected[group] += e.payload["chargedCents"]
    groups = [*body["groups"], body["unassignedGroup"]]
    for g in groups:
        assert g["spendCents"] == pytest.approx(expected[g["id"]], abs=0.01), g["name"]
        assert sum(d["spendCents"] for d in g["dailySpend"]) == pytest.approx(
            g["spendCents"], abs=0.01
        )
        members_total = sum(m["spendCents"] for m in g["currentMembers"] + g["formerMembers"])
        if g["id"] != "group_unassigned":
            assert members_total == pytest.approx(g["spendCents"], abs=0.01)
    assert sum(g["spendCents"] for g in groups) == pytest.approx(sum(expected.values()), abs=0.01)


async def test_members_move_between_groups_over_time() -> None:
    sim = make_sim(seed=5, users=60, days=120)
    moved = [m for m in sim.truth().members() if len(m.group_stints) > 1]
    assert moved, "some members change billing group during the history"
    for m in moved:
        for (_, _, left), (_, joined, _) in zip(m.group_stints, m.group_stints[1:], strict=False):
            assert left == joined


def test_removed_members_have_audit_events_and_no_usage_after_residual(
    sim: SimulatedCursor,
) -> None:
    truth = sim.truth()
    removed = [m for m in truth.members() if m.removed_ms is not None]
    assert removed
    audit = truth.audit_events()
    removals = {e["event_data"]["email"] for e in audit if e["event_type"] == "remove_user"}
    for m in removed:
        if m.removed_ms is not None and m.removed_ms >= truth.history_start_ms:
            assert m.email in removals
    for e in truth.events():
        if e.after_removal:
            assert e.payload["isHeadless"] and "cloudAgentId" in e.payload
