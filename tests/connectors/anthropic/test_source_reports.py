"""The Usage & Cost streams against the simulator: tokens and money equal the truth,
cross-checked through groupings the source does not ask for."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import httpx

from unimeter.connectors.anthropic.simulator import SimulatedAnthropic, create_app
from unimeter.connectors.facts import NONE, UsageFactRecord
from unimeter.connectors.windows import DAY_MS

from .test_source import BASE, NOW_MS, connector_for, history, make_sim, read

TODAY = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC).date()
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def complete_days(sim: SimulatedAnthropic) -> list[dt.date]:
    start = sim.truth().history_start
    return [start + dt.timedelta(days=n) for n in range((TODAY - start).days)]


def result_tokens(result: dict[str, Any]) -> Counter[str]:
    cache = result["cache_creation"]
    return Counter(
        input_tokens=result["uncached_input_tokens"],
        output_tokens=result["output_tokens"],
        cache_read_tokens=result["cache_read_input_tokens"],
        cache_write_tokens=cache["ephemeral_5m_input_tokens"] + cache["ephemeral_1h_input_tokens"],
    )


async def facts_of(sim: SimulatedAnthropic, stream: str) -> list[UsageFactRecord]:
    async with connector_for(sim).open_source({"api_key": sim.keys[0]}, BASE) as src:
        records = await read(src, stream, history())
    facts = [r for r in records if isinstance(r, UsageFactRecord)]
    assert len(facts) == len(records)
    assert all(f.product == "claude_api" and not f.is_day_total for f in facts)
    assert all(f.day < TODAY for f in facts)  # the growing current day is never read
    return facts


async def test_messages_tokens_equal_the_truth_by_model_and_by_person() -> None:
    sim = make_sim()
    facts = await facts_of(sim, "messages_usage")
    truth = sim.truth()
    emails = {u.id: u.email.lower() for u in truth.users() if u.removed_at_ms is None}
    by_model: dict[tuple[dt.date, str], Counter[str]] = defaultdict(Counter)
    by_who: dict[tuple[dt.date, str, str, str], Counter[str]] = defaultdict(Counter)
    for fact in facts:
        by_model[(fact.day, fact.model)].update(fact.metrics)
        by_who[(fact.day, fact.user_email, fact.actor, fact.surface)].update(fact.metrics)
    want_model: dict[tuple[dt.date, str], Counter[str]] = defaultdict(Counter)
    want_who: dict[tuple[dt.date, str, str, str], Counter[str]] = defaultdict(Counter)
    for day in complete_days(sim):
        for result in truth.messages_results(day, ("model",)):
            want_model[(day, result["model"])].update(result_tokens(result))
        for result in truth.messages_results(
            day, ("account_id", "api_key_id", "service_account_id")
        ):
            if result["account_id"]:
                who = (day, emails.get(result["account_id"], NONE), NONE, "api")
                if who[1] == NONE:
                    who = (day, NONE, "user:" + result["account_id"], "api")
            elif result["api_key_id"] or result["service_account_id"]:
                who = (day, NONE, result["api_key_id"] or result["service_account_id"], "api")
            else:
                who = (day, NONE, NONE, "console")
            want_who[who].update(result_tokens(result))
    assert by_model == {k: v for k, v in want_model.items() if +v}
    assert by_who == {k: v for k, v in want_who.items() if +v}
    assert any(f.user_email for f in facts) and any(f.actor for f in facts)
    # Sources: the results with their bucket's day.
    assert all(s["starting_at"].startswith(f.day.isoformat()) for f in facts for s in f.sources)


async def test_costs_equal_the_truth_to_the_millionth_of_a_cent() -> None:
    sim = make_sim()
    facts = await facts_of(sim, "cost_report")
    truth = sim.truth()
    got: dict[tuple[dt.date, str], int] = defaultdict(int)
    for fact in facts:
        got[(fact.day, fact.actor)] += fact.metrics["cost_cents_e6"]
    want: dict[tuple[dt.date, str], int] = defaultdict(int)
    for day in complete_days(sim):
        for item in truth.cost_items(day, ("workspace_id",)):
            actor = "workspace:" + (item["workspace_id"] or "default")
            want[(day, actor)] += int(Decimal(item["amount"]) * 1_000_000)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
    day_totals: dict[dt.date, int] = defaultdict(int)
    for (day, _), cents in got.items():
        day_totals[day] += cents
    for day in complete_days(sim):
        assert day_totals.get(day, 0) == int(truth.cost_cents(day) * 1_000_000)


async def test_revised_costs_are_read_again() -> None:
    sim = make_sim(revision_days=3)
    before = {(f.day, f.actor, f.model): f.metrics for f in await facts_of(sim, "cost_report")}
    sim.revise()
    after = {(f.day, f.actor, f.model): f.metrics for f in await facts_of(sim, "cost_report")}
    changed = {key[0] for key in before if before[key] != after.get(key)}
    assert changed and min(changed) >= TODAY - dt.timedelta(days=3)


async def test_faults_still_give_the_exact_reports() -> None:
    clean = {
        stream: sorted(
            (f.key(), sorted(f.metrics.items())) for f in await facts_of(make_sim(), stream)
        )
        for stream in ("messages_usage", "cost_report")
    }
    faulty = make_sim(fault_rate=0.1, seed=7)
    for stream, expected in clean.items():
        got = sorted((f.key(), sorted(f.metrics.items())) for f in await facts_of(faulty, stream))
        assert got == expected


async def test_probe_floor_finds_the_first_day_with_costs() -> None:
    sim = make_sim(days=80)
    async with connector_for(sim).open_source({"api_key": sim.keys[0]}, BASE) as src:
        floor = await src.probe_floor(NOW_MS, 365)
        probes = src.counters("probe").requests
    assert floor is not None
    first_cost_day = min(d for d in complete_days(sim) if sim.truth().cost_items(d))
    assert floor == int(
        dt.datetime.combine(first_cost_day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000
    )
    assert probes <= 80 // 31 + 2  # one request per 31 days, plus the empty range
    assert floor >= NOW_MS - (80 + 1) * DAY_MS


class _NoApiSpend:
    """An organization paying for Claude Code by seat: its cost report has no results
    (the transport seam answers for it; everything else is the simulator's)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/cost_report"):
            body = b'{"data":[],"has_more":false,"next_page":null}'
            headers = [(b"content-type", b"application/json"), (b"request-id", b"req_x")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_without_api_spend_history_starts_when_the_first_member_joined() -> None:
    sim = make_sim(days=80)
    transport = httpx.ASGITransport(app=_NoApiSpend(create_app(sim)))
    connector = connector_for(sim, transport=transport)
    async with connector.open_source({"api_key": sim.keys[0]}, BASE) as src:
        floor = await src.probe_floor(NOW_MS, 60)
        unbounded = await src.probe_floor(NOW_MS, 10_000)
    joined = min(u.added_at_ms for u in sim.truth().users())
    first_join = dt.datetime.fromtimestamp(joined / 1000, tz=dt.UTC).date()
    start_of = dt.datetime.combine(first_join, dt.time(), tzinfo=dt.UTC)
    assert unbounded == int(start_of.timestamp() * 1000)
    # Never further back than asked.
    assert floor == (NOW_MS // DAY_MS - 60) * DAY_MS
