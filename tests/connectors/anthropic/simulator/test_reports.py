"""Usage and cost reports: exact grouping, agreement with the truth and with Claude Code,
freshness (the current day grows, Claude Code lags an hour) and cost revisions."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

import httpx
import pytest

from unimeter.connectors.anthropic.simulator import SimulatedAnthropic

from .conftest import BASE, TODAY, client_for, make_sim

MESSAGES = f"{BASE}/usage_report/messages"
COST = f"{BASE}/cost_report"
DIMENSIONS = (
    "model",
    "workspace_id",
    "api_key_id",
    "account_id",
    "service_account_id",
    "service_tier",
    "context_window",
    "inference_geo",
)
TOKEN_FIELDS = ("uncached_input_tokens", "cache_read_input_tokens", "output_tokens")
WEEKDAY = date(2026, 6, 11)  # a Thursday with every kind of traffic


def _totals(results: list[dict[str, Any]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for r in results:
        for name in TOKEN_FIELDS:
            out[name] += r[name]
        out["5m"] += r["cache_creation"]["ephemeral_5m_input_tokens"]
        out["1h"] += r["cache_creation"]["ephemeral_1h_input_tokens"]
        out["web"] += r["server_tool_use"]["web_search_requests"]
    return out


def _cents(items: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(i["amount"]) for i in items), Decimal(0))


def test_every_grouping_of_messages_adds_up_to_the_ungrouped_total(
    sim: SimulatedAnthropic,
) -> None:
    truth = sim.truth()
    whole = truth.messages_results(WEEKDAY)
    assert len(whole) == 1
    assert all(whole[0][d] is None for d in DIMENSIONS)
    for size in (1, 2):
        for group in combinations(DIMENSIONS, size):
            results = truth.messages_results(WEEKDAY, group)
            assert _totals(results) == _totals(whole), group
            for r in results:
                assert all(r[d] is None for d in DIMENSIONS if d not in group)


def test_usage_dimensions_tell_the_documented_story(sim: SimulatedAnthropic) -> None:
    results = sim.truth().messages_results(WEEKDAY, DIMENSIONS)
    seen = {d: {r[d] for r in results} for d in DIMENSIONS}
    assert None in seen["workspace_id"], "the default workspace has no id"
    assert None in seen["api_key_id"], "subscription and Workbench usage has no key"
    assert len(seen["account_id"] - {None}) >= 1
    assert seen["service_tier"] >= {"standard"}
    for r in results:
        # Exactly one of "through a key" and "an OAuth account".
        assert (r["api_key_id"] is None) != (r["account_id"] is None)


def test_every_grouping_of_costs_adds_up_and_nulls_follow_the_rules(
    sim: SimulatedAnthropic,
) -> None:
    truth = sim.truth()
    total = _cents(truth.cost_items(WEEKDAY))
    assert total > 0
    for group in ((), ("workspace_id",), ("description",), ("workspace_id", "description")):
        items = truth.cost_items(WEEKDAY, group)
        assert _cents(items) == total, group
        for item in items:
            assert item["currency"] == "USD"
            assert len(item["amount"].split(".")[1]) == 6
            if "description" not in group:
                assert item["description"] is item["cost_type"] is item["model"] is None
                assert item["token_type"] is item["service_tier"] is None
    described = truth.cost_items(WEEKDAY, ("description",))
    assert {i["cost_type"] for i in described} >= {"tokens", "web_search"}
    for item in described:
        if item["cost_type"] != "tokens":
            assert item["model"] is None and item["token_type"] is None


async def test_served_reports_equal_the_truth(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    truth = sim.truth()
    params: dict[str, Any] = {
        "starting_at": "2026-06-08T00:00:00Z",
        "ending_at": "2026-06-12T00:00:00Z",
        "group_by[]": ["model", "api_key_id"],
    }
    body = (await client.get(MESSAGES, params=params)).json()
    for bucket in body["data"]:
        day = date.fromisoformat(bucket["starting_at"][:10])
        assert bucket["results"] == truth.messages_results(day, ("model", "api_key_id"))
    params["group_by[]"] = ["description"]
    body = (await client.get(COST, params=params)).json()
    for bucket in body["data"]:
        day = date.fromisoformat(bucket["starting_at"][:10])
        assert bucket["results"] == truth.cost_items(day, ("description",))


async def test_hours_and_minutes_add_up_to_the_day(client: httpx.AsyncClient) -> None:
    start: dict[str, Any] = {"starting_at": f"{WEEKDAY.isoformat()}T00:00:00Z"}
    day = (await client.get(MESSAGES, params={**start, "limit": 1})).json()["data"][0]
    hours = (await client.get(MESSAGES, params={**start, "bucket_width": "1h"})).json()["data"]
    assert len(hours) == 24
    assert _totals([r for h in hours for r in h["results"]]) == _totals(day["results"])
    assert any(h["results"] == [] for h in hours), "quiet hours are empty buckets"
    minutes: list[dict[str, Any]] = []
    for part in range(2):
        params: dict[str, Any] = {
            "starting_at": f"{WEEKDAY.isoformat()}T{part * 12:02d}:00:00Z",
            "bucket_width": "1m",
            "limit": 720,
        }
        minutes += (await client.get(MESSAGES, params=params)).json()["data"]
    assert len(minutes) == 1440
    assert _totals([r for m in minutes for r in m["results"]]) == _totals(day["results"])


async def test_the_current_day_grows_and_claude_code_lags_an_hour() -> None:
    sim = make_sim()
    truth = sim.truth()
    today: dict[str, Any] = {"starting_at": f"{TODAY.isoformat()}T00:00:00Z"}
    async with client_for(sim) as client:
        first = (await client.get(MESSAGES, params=today)).json()["data"]
        assert len(first) == 1  # buckets end with the one holding now
        before = _totals(first[0]["results"])
        assert first[0]["results"] == truth.messages_results(TODAY)
        code = f"{BASE}/usage_report/claude_code"
        yesterday = {"starting_at": (TODAY - timedelta(days=1)).isoformat()}
        assert (await client.get(code, params=yesterday)).json()["data"]
        sim.clock.advance(hours=8)
        after = _totals((await client.get(MESSAGES, params=today)).json()["data"][0]["results"])
        assert all(after[k] >= before[k] for k in after) and after != before
        tomorrow = {"starting_at": (TODAY + timedelta(days=1)).isoformat()}
        assert (await client.get(code, params=tomorrow)).status_code == 400
        sim.clock.advance(hours=4)  # 00:34 the next day: today's analytics not yet served
        on_today: dict[str, Any] = {"starting_at": TODAY.isoformat(), "limit": 1000}
        assert (await client.get(code, params=on_today)).json()["data"] == []
        sim.clock.advance(hours=1)
        rows = (await client.get(code, params=on_today)).json()["data"]
        assert rows
        assert rows == truth.claude_code_rows(TODAY)


def test_revisions_change_only_recent_days_and_the_truth_follows() -> None:
    sim = make_sim(revision_days=3)
    truth = sim.truth()
    days = [TODAY - timedelta(days=n) for n in range(1, 8)]
    costs_before = {d: truth.cost_cents(d) for d in days}
    code_before = {d: truth.claude_code_rows(d) for d in days}
    tokens_before = {d: truth.messages_results(d) for d in days}
    sim.revise()
    for d in days:
        recent = d >= TODAY - timedelta(days=3)
        assert (truth.cost_cents(d) != costs_before[d]) == recent, d
        assert code_before[d], d
        assert (truth.claude_code_rows(d) != code_before[d]) == recent, d
        assert truth.messages_results(d) == tokens_before[d], "tokens are never revised"
    once = truth.cost_cents(days[0])
    sim.revise()
    assert truth.cost_cents(days[0]) != once


async def test_the_served_cost_follows_a_revision(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    params = {"starting_at": f"{(TODAY - timedelta(days=1)).isoformat()}T00:00:00Z"}
    before = (await client.get(COST, params=params)).json()["data"][0]["results"]
    sim.revise()
    after = (await client.get(COST, params=params)).json()["data"][0]["results"]
    assert before != after
    assert after == sim.truth().cost_items(TODAY - timedelta(days=1))


@pytest.mark.parametrize("group", [("model",), ("workspace_id", "service_tier")])
async def test_filters_restrict_before_grouping(
    client: httpx.AsyncClient, sim: SimulatedAnthropic, group: tuple[str, ...]
) -> None:
    truth = sim.truth()
    everything = truth.messages_results(WEEKDAY, group)
    model = truth.messages_results(WEEKDAY, ("model",))[0]["model"]
    params: dict[str, Any] = {
        "starting_at": f"{WEEKDAY.isoformat()}T00:00:00Z",
        "limit": 1,
        "group_by[]": list(group),
        "models[]": model,
    }
    results = (await client.get(MESSAGES, params=params)).json()["data"][0]["results"]
    assert results
    assert _totals(results) == _totals(truth.messages_results(WEEKDAY, ("model",))[:1])
    assert _totals(results) != _totals(everything)
