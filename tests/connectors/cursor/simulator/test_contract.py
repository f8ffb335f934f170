"""Contract tests: every endpoint's shapes, field names and types, as documented by Cursor."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor

from .conftest import NOW_MS

DAY = 86_400_000
NUMBER = (int, float)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def day_start(ms: int) -> int:
    return ms // DAY * DAY


async def test_members_lists_current_and_removed_members(client: httpx.AsyncClient) -> None:
    response = await client.get("/teams/members")
    assert response.status_code == 200
    members = response.json()["teamMembers"]
    assert len(members) >= 20
    for m in members:
        assert m["id"].startswith("user_") and len(m["id"]) == 33
        assert isinstance(m["name"], str) and m["name"]
        assert "@" in m["email"]
        assert m["role"] in {"owner", "member", "free-owner"}
        assert isinstance(m["isRemoved"], bool)
    roles = {m["role"] for m in members}
    assert {"owner", "member"} <= roles
    assert any(m["isRemoved"] for m in members), "the roster should include removed members"
    assert len({m["email"] for m in members}) == len(members)


async def test_daily_usage_without_paging_returns_only_active_rows(
    client: httpx.AsyncClient, sim: SimulatedCursor
) -> None:
    end = day_start(NOW_MS) - 1
    start = end + 1 - 7 * DAY
    body = (
        await client.post("/teams/daily-usage-data", json={"startDate": start, "endDate": end})
    ).json()
    assert set(body) == {"data", "period"}
    assert body["period"] == {"startDate": start, "endDate": end}
    truth = {(r["email"], r["day"]): r for r in sim.truth().daily_usage(start, end)}
    assert body["data"], "a week of a 30-member team has active users"
    for row in body["data"]:
        assert "isActive" not in row
        assert truth[(row["email"], row["day"])]["isActive"] is True
    active_truth = [k for k, r in truth.items() if r["isActive"]]
    assert len(body["data"]) == len(active_truth)


async def test_daily_usage_with_paging_returns_every_member_with_is_active(
    client: httpx.AsyncClient, sim: SimulatedCursor
) -> None:
    end = day_start(NOW_MS) - 1
    start = end + 1 - 7 * DAY
    rows: list[dict[str, object]] = []
    page, pages = 1, None
    while True:
        body = (
            await client.post(
                "/teams/daily-usage-data",
                json={"startDate": start, "endDate": end, "page": page, "pageSize": 7},
            )
        ).json()
        p = body["pagination"]
        assert set(p) == {
            "page",
            "pageSize",
            "totalUsers",
            "totalPages",
            "hasNextPage",
            "hasPreviousPage",
        }
        assert p["page"] == page and p["pageSize"] == 7
        assert p["hasPreviousPage"] is (page > 1)
        pages = p["totalPages"]
        rows.extend(body["data"])
        if not p["hasNextPage"]:
            break
        page += 1
    assert page == pages
    assert {r["isActive"] for r in rows} == {True, False}
    assert len({r["email"] for r in rows}) == body["pagination"]["totalUsers"]
    # Members who joined after the period are excluded; everyone else has a row per member-day.
    truth_rows = sim.truth().daily_usage(start, end)
    assert sorted((r["email"], r["day"]) for r in rows) == sorted(
        (r["email"], r["day"]) for r in truth_rows
    )
    sample = rows[0]
    assert isinstance(sample["userId"], int)
    assert DATE.match(str(sample["day"]))
    assert sample["date"] == int(
        datetime.strptime(str(sample["day"]), "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000
    )
    counters = [
        "totalLinesAdded", "totalLinesDeleted", "acceptedLinesAdded", "acceptedLinesDeleted",
        "totalApplies", "totalAccepts", "totalRejects", "totalTabsShown", "totalTabsAccepted",
        "composerRequests", "chatRequests", "agentRequests", "cmdkUsages",
        "subscriptionIncludedReqs", "apiKeyReqs", "usageBasedReqs", "bugbotUsages",
    ]  # fmt: skip
    for row in rows:
        for name in counters:
            value = row[name]
            assert isinstance(value, int) and value >= 0, name
        for name in (
            "mostUsedModel",
            "applyMostUsedExtension",
            "tabMostUsedExtension",
            "clientVersion",
        ):
            assert row[name] is None or isinstance(row[name], str)
        if not row["isActive"]:
            assert all(row[name] == 0 for name in counters)
            assert row["clientVersion"] is None and row["mostUsedModel"] is None


async def test_spend_shapes_sorting_search_and_paging(client: httpx.AsyncClient) -> None:
    body = (await client.post("/teams/spend", json={})).json()
    assert {"teamMemberSpend", "subscriptionCycleStart", "totalMembers", "totalPages"} <= set(body)
    assert isinstance(body["subscriptionCycleStart"], int)
    first = body["teamMemberSpend"][0]
    for name in ("userId", "name", "email", "role"):
        assert isinstance(first[name], str)
    for row in body["teamMemberSpend"]:
        assert isinstance(row["spendCents"], NUMBER) and isinstance(
            row["overallSpendCents"], NUMBER
        )
        assert 0 <= row["spendCents"] <= row["overallSpendCents"] + 1e-9
        assert isinstance(row["fastPremiumRequests"], int)
        assert isinstance(row["hardLimitOverrideDollars"], int)
        assert row["monthlyLimitDollars"] is None or isinstance(row["monthlyLimitDollars"], int)
        assert isinstance(row["effectivePerUserLimitDollars"], int)
    assert any(isinstance(r["overallSpendCents"], float) for r in body["teamMemberSpend"])

    by_amount = (
        await client.post("/teams/spend", json={"sortBy": "amount", "sortDirection": "desc"})
    ).json()["teamMemberSpend"]
    amounts = [r["overallSpendCents"] for r in by_amount]
    assert amounts == sorted(amounts, reverse=True)

    name = first["name"].split()[0]
    found = (await client.post("/teams/spend", json={"searchTerm": name.lower()})).json()
    assert found["teamMemberSpend"]
    assert all(name.lower() in (r["name"] + r["email"]).lower() for r in found["teamMemberSpend"])

    paged = (await client.post("/teams/spend", json={"page": 2, "pageSize": 4})).json()
    assert paged["totalPages"] == -(-paged["totalMembers"] // 4)
    assert len(paged["teamMemberSpend"]) == 4


async def test_usage_events_shapes_and_defaults(client: httpx.AsyncClient) -> None:
    body = (await client.post("/teams/filtered-usage-events", json={})).json()
    assert set(body) == {"totalUsageEventsCount", "pagination", "usageEvents", "period"}
    p = body["pagination"]
    assert set(p) == {"numPages", "currentPage", "pageSize", "hasNextPage", "hasPreviousPage"}
    assert p["pageSize"] == 100 and p["currentPage"] == 1
    assert len(body["usageEvents"]) == 100
    assert body["period"]["endDate"] == NOW_MS
    stamps = [int(e["timestamp"]) for e in body["usageEvents"]]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    for e in body["usageEvents"]:
        assert isinstance(e["timestamp"], str) and e["timestamp"].isdigit()
        assert isinstance(e["userEmail"], str)
        assert isinstance(e["model"], str) and isinstance(e["kind"], str)
        for flag in ("maxMode", "isTokenBasedCall", "isChargeable", "isHeadless"):
            assert isinstance(e[flag], bool)
        assert isinstance(e["requestsCosts"], NUMBER)
        assert isinstance(e["chargedCents"], NUMBER)
        assert ("tokenUsage" in e) is e["isTokenBasedCall"]
        if "tokenUsage" in e:
            usage = e["tokenUsage"]
            for name in ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens"):
                assert isinstance(usage[name], int)
            assert isinstance(usage["totalCents"], NUMBER)
        if e["model"] in ("composer-2", "grok-code"):
            assert "cursorTokenFee" not in e


async def test_usage_events_cover_every_documented_variant(
    client: httpx.AsyncClient,
) -> None:
    end = day_start(NOW_MS) - 1
    events = []
    for window in range(2):
        w_end = end - window * 30 * DAY
        page = 1
        while True:
            body = (
                await client.post(
                    "/teams/filtered-usage-events",
                    json={
                        "startDate": w_end + 1 - 30 * DAY,
                        "endDate": w_end,
                        "page": page,
                        "pageSize": 1000,
                    },
                )
            ).json()
            events.extend(body["usageEvents"])
            if not body["pagination"]["hasNextPage"]:
                break
            page += 1
    kinds = {e["kind"] for e in events}
    assert {"Included in Business", "Usage-based", "Errored, Not Charged"} <= kinds
    assert any("cloudAgentId" in e for e in events)
    assert any("serviceAccountId" in e and "serviceAccountName" in e for e in events)
    assert any("conversationId" in e for e in events)
    assert any(not e["isTokenBasedCall"] and "tokenUsage" not in e for e in events)
    assert any(e.get("tokenUsage", {}).get("discountPercentOff") for e in events)
    assert any(e["userEmail"] == "" for e in events), "removed members' events lose their email"
    models = {e["model"] for e in events}
    assert {"claude-4.5-sonnet", "gpt-5", "composer-2", "auto", "claude-opus-4.6"} <= models
    charged = [e for e in events if e["isChargeable"]]
    assert charged and all(e["chargedCents"] > 0 for e in charged)
    for e in events:
        if e["isTokenBasedCall"] and e["chargedCents"]:
            expected = e["tokenUsage"]["totalCents"] + e.get("cursorTokenFee", 0)
            assert e["chargedCents"] == pytest.approx(expected, abs=1e-6)


async def test_usage_events_bounds_are_inclusive(client: httpx.AsyncClient) -> None:
    first = (await client.post("/teams/filtered-usage-events", json={"pageSize": 1})).json()
    ts = int(first["usageEvents"][0]["timestamp"])
    exact = (
        await client.post("/teams/filtered-usage-events", json={"startDate": ts, "endDate": ts})
    ).json()
    assert exact["totalUsageEventsCount"] >= 1
    assert {int(e["timestamp"]) for e in exact["usageEvents"]} == {ts}


async def test_usage_events_filters_combine_with_and(
    client: httpx.AsyncClient, sim: SimulatedCursor
) -> None:
    truth = sim.truth()
    member = next(m for m in truth.members() if m.removed_ms is None and m.role == "member")
    by_email = (
        await client.post("/teams/filtered-usage-events", json={"email": member.email})
    ).json()
    assert by_email["usageEvents"]
    assert {e["userEmail"] for e in by_email["usageEvents"]} == {member.email}
    by_id = (
        await client.post("/teams/filtered-usage-events", json={"userId": member.numeric_id})
    ).json()
    assert by_id["totalUsageEventsCount"] == by_email["totalUsageEventsCount"]
    other = next(m for m in truth.members() if m.email != member.email)
    both = (
        await client.post(
            "/teams/filtered-usage-events",
            json={"email": member.email, "userId": other.numeric_id},
        )
    ).json()
    assert both["totalUsageEventsCount"] == 0
    agents = (await client.post("/teams/filtered-usage-events", json={"cloudAgentId": "*"})).json()
    assert agents["usageEvents"] and all("cloudAgentId" in e for e in agents["usageEvents"])
    one_agent = agents["usageEvents"][0]["cloudAgentId"]
    single = (
        await client.post("/teams/filtered-usage-events", json={"cloudAgentId": one_agent})
    ).json()
    assert {e["cloudAgentId"] for e in single["usageEvents"]} == {one_agent}
    cloud = (
        await client.post("/teams/filtered-usage-events", json={"hostingType": "CLOUD"})
    ).json()
    assert cloud["totalUsageEventsCount"] <= agents["totalUsageEventsCount"]


async def test_audit_logs_shapes_filters_and_paging(client: httpx.AsyncClient) -> None:
    body = (
        await client.get("/teams/audit-logs", params={"startTime": "30d", "pageSize": 5})
    ).json()
    assert set(body) == {"events", "pagination", "params"}
    assert set(body["pagination"]) == {
        "page", "pageSize", "totalCount", "totalPages", "hasNextPage", "hasPreviousPage",
    }  # fmt: skip
    assert body["params"]["endDate"] == NOW_MS
    assert body["params"]["endDate"] - body["params"]["startDate"] == 30 * DAY
    for e in body["events"]:
        assert e["event_id"].startswith("evt_")
        assert ISO_MS.match(e["timestamp"])
        assert isinstance(e["user_email"], str) and isinstance(e["event_type"], str)
        assert isinstance(e["event_data"], dict)
        assert e["application_type"] in ("cursor", "grok_bot", "")
    total = body["pagination"]["totalCount"]
    seen: list[Any] = []
    for page in range(1, body["pagination"]["totalPages"] + 1):
        chunk = (
            await client.get(
                "/teams/audit-logs", params={"startTime": "30d", "pageSize": 5, "page": page}
            )
        ).json()
        seen.extend(e["event_id"] for e in chunk["events"])
    assert len(seen) == len(set(seen)) == total

    logins = (
        await client.get("/teams/audit-logs", params={"startTime": "30d", "eventTypes": "login"})
    ).json()
    assert logins["events"] and {e["event_type"] for e in logins["events"]} == {"login"}
    actor = logins["events"][0]["user_email"]
    mine = (
        await client.get("/teams/audit-logs", params={"startTime": "30d", "users": actor})
    ).json()
    assert mine["events"] and {e["user_email"] for e in mine["events"]} == {actor}


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("7d", "now"),
        ("yesterday", "today"),
        ("2026-06-01", "2026-06-15T00:00:00Z"),
        ("1780272000", "1781481600000"),
        ("48h", "300s"),
    ],
)
async def test_audit_logs_accept_every_time_format(
    client: httpx.AsyncClient, start: str, end: str
) -> None:
    response = await client.get("/teams/audit-logs", params={"startTime": start, "endTime": end})
    assert response.status_code == 200, response.text
    params = response.json()["params"]
    assert params["startDate"] < params["endDate"] <= NOW_MS


async def test_groups_list_and_detail(client: httpx.AsyncClient) -> None:
    body = (await client.get("/teams/groups")).json()
    assert set(body) == {"groups", "unassignedGroup", "billingCycle"}
    assert ISO_MS.match(body["billingCycle"]["cycleStart"])
    assert body["unassignedGroup"]["id"] == "group_unassigned"
    assert body["unassignedGroup"]["name"] == "Unassigned"
    assert len(body["groups"]) >= 2
    for g in [*body["groups"], body["unassignedGroup"]]:
        assert g["id"].startswith("group_") and g["type"] == "BILLING"
        assert g["memberCount"] == len(g["currentMembers"])
        assert isinstance(g["spendCents"], NUMBER)
        for d in g["dailySpend"]:
            assert DATE.match(d["date"]) and isinstance(d["spendCents"], NUMBER)
        for m in g["currentMembers"]:
            assert m["leftAt"] is None and ISO_MS.match(m["joinedAt"])
            assert "dailySpend" not in m
        for m in g["formerMembers"]:
            assert ISO_MS.match(m["leftAt"])
    detail = (await client.get(f"/teams/groups/{body['groups'][0]['id']}")).json()
    assert set(detail) == {"group", "billingCycle"}
    assert all("dailySpend" in m for m in detail["group"]["currentMembers"])
    assert detail["group"]["spendCents"] == body["groups"][0]["spendCents"]
    missing = await client.get("/teams/groups/group_doesnotexist")
    assert missing.status_code == 404


async def test_groups_for_an_earlier_billing_cycle(client: httpx.AsyncClient) -> None:
    current = (await client.get("/teams/groups")).json()["billingCycle"]
    earlier_date = datetime.fromtimestamp((NOW_MS - 35 * DAY) / 1000, tz=UTC).strftime("%Y-%m-%d")
    earlier = (await client.get("/teams/groups", params={"billingCycle": earlier_date})).json()
    assert earlier["billingCycle"]["cycleEnd"] <= current["cycleStart"]
    bad = await client.get("/teams/groups", params={"billingCycle": "June"})
    assert bad.status_code == 400
