"""AnthropicSource against the simulator (in process): every stream equals the truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from unimeter.connectors.anthropic.connector import AnthropicConnector
from unimeter.connectors.anthropic.simulator import (
    AnthropicSimConfig,
    SimulatedAnthropic,
    create_app,
)
from unimeter.connectors.anthropic.source import AnthropicSource
from unimeter.connectors.errors import SourceAuthError
from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import ActorRecord, GroupsRecord, MemberRecord
from unimeter.connectors.source import Record, Source, Window
from unimeter.connectors.windows import DAY_MS, plan_windows

from .conftest import FAST_RETRY, expected_claude_code, unlimited_budget

# 2026-06-15T12:34:56Z, frozen.
NOW_MS = 1_781_526_896_000
DAYS = 20
BASE = "http://anthropic.sim"


def make_sim(**overrides: Any) -> SimulatedAnthropic:
    settings: dict[str, Any] = {
        "seed": 7, "now_ms": NOW_MS, "users": 14, "days": DAYS, "rate_limit_per_minute": None,
    }  # fmt: skip
    settings.update(overrides)
    return SimulatedAnthropic(AnthropicSimConfig(**settings))


def connector_for(sim: SimulatedAnthropic, **options: Any) -> AnthropicConnector:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("budget", unlimited_budget())
    options.setdefault("transport", httpx.ASGITransport(app=create_app(sim)))
    return AnthropicConnector(clock=lambda: NOW_MS, **options)


async def read(source: Source, stream: str, windows: list[Window] | None = None) -> list[Record]:
    out: list[Record] = []
    for window in windows or [None]:  # type: ignore[list-item]
        batches: AsyncIterator[list[Record]] = source.fetch(stream, window)
        async for batch in batches:
            out.extend(batch)
    return out


def history() -> list[Window]:
    return plan_windows(NOW_MS - (DAYS + 2) * DAY_MS, NOW_MS, 31)


@pytest.fixture
def sim() -> SimulatedAnthropic:
    return make_sim()


async def test_users_are_the_current_roster(sim: SimulatedAnthropic) -> None:
    async with connector_for(sim, page_size=3).open_source({"api_key": sim.keys[0]}, BASE) as src:
        members = await read(src, "users")
        assert src.counters("users").requests >= 4  # paged by three
    truth = sim.truth()
    current = [u for u in truth.users() if u.removed_at_ms is None]
    assert all(isinstance(m, MemberRecord) for m in members)
    got = {(m.remote_id, m.email, m.name, m.role, m.joined_at_ms) for m in members}  # type: ignore[union-attr]
    assert got == {(u.id, u.email.lower(), u.name, u.role, u.added_at_ms) for u in current}
    assert len(current) < len(truth.users())  # someone was removed: not a member any more


async def test_workspaces_and_api_keys(sim: SimulatedAnthropic) -> None:
    async with connector_for(sim, page_size=2).open_source({"api_key": sim.keys[0]}, BASE) as src:
        (groups,) = await read(src, "workspaces")
        actors = await read(src, "api_keys")
    truth = sim.truth()
    assert isinstance(groups, GroupsRecord)
    assert {g.remote_id for g in groups.groups} == {"default"} | {
        w["id"] for w in truth.workspaces()
    }
    assert {(m.group_remote_id, m.member_remote_id) for m in groups.memberships} == {
        (m["workspace_id"], m["user_id"]) for m in truth.workspace_members()
    }
    keys = {a.remote_id: a for a in actors if isinstance(a, ActorRecord)}
    assert len(keys) == len(actors) == len(truth.api_keys())
    for key in truth.api_keys():
        actor = keys[key["id"]]
        assert (actor.name, actor.status, actor.workspace_id) == (
            key["name"], key["status"], key["workspace_id"]
        )  # fmt: skip


def as_table(facts: list[Record]) -> dict[tuple[Any, ...], dict[str, int]]:
    table: dict[tuple[Any, ...], dict[str, int]] = {}
    for fact in facts:
        assert isinstance(fact, UsageFactRecord)
        key = (fact.day, fact.user_email, fact.actor, fact.surface, fact.model, fact.is_day_total)
        assert key not in table  # one fact per key: a day is one batch
        table[key] = fact.metrics
    return table


@pytest.mark.parametrize("quirk", ["default", "fractional", "date"])
async def test_claude_code_equals_the_truth(quirk: str) -> None:
    from unimeter.connectors.anthropic.simulator import Quirks

    quirks = {
        "default": Quirks(),
        "fractional": Quirks(fractional_cost=True),
        "date": Quirks(date_format="date"),
    }[quirk]
    sim = make_sim(quirks=quirks)
    async with connector_for(sim).open_source({"api_key": sim.keys[0]}, BASE) as src:
        facts = await read(src, "claude_code", history())
        requests = src.counters("claude_code").requests
    assert as_table(facts) == expected_claude_code(sim)
    assert all(f.product == "claude_code" for f in facts if isinstance(f, UsageFactRecord))
    # Removed users' rows are kept (their email stays in the facts).
    truth = sim.truth()
    removed = {u.email.lower() for u in truth.users() if u.removed_at_ms is not None}
    used = {f.user_email for f in facts if isinstance(f, UsageFactRecord)}
    assert removed & used
    # One request per complete day (plus the key list, once); never today.
    assert requests <= DAYS + 3 + 1


async def test_today_is_never_requested(sim: SimulatedAnthropic) -> None:
    asked: list[str] = []
    app = create_app(sim)

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            asked.append(scope["query_string"].decode())
        await app(scope, receive, send)

    connector = AnthropicConnector(
        transport=httpx.ASGITransport(app=spy),
        clock=lambda: NOW_MS,
        retry=FAST_RETRY,
        budget=unlimited_budget(),
    )
    today = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC).date().isoformat()
    async with connector.open_source({"api_key": sim.keys[0]}, BASE) as src:
        await read(src, "claude_code", [Window(NOW_MS - 3 * DAY_MS, NOW_MS)])
    assert asked and not any(today in q for q in asked)


async def test_faults_still_give_the_exact_result() -> None:
    sim = make_sim(fault_rate=0.1)
    connector = connector_for(sim, retry=FAST_RETRY)
    async with connector.open_source({"api_key": sim.keys[0]}, BASE) as src:
        facts = await read(src, "claude_code", history())
        members = await read(src, "users")
        stats = src.counters("claude_code")
    assert stats.errors > 0 and stats.retries > 0
    assert as_table(facts) == expected_claude_code(make_sim())
    assert len(members) == len([u for u in sim.truth().users() if u.removed_at_ms is None])


async def test_a_revoked_key_is_an_auth_error(sim: SimulatedAnthropic) -> None:
    sim.revoke(sim.keys[0])
    async with connector_for(sim).open_source({"api_key": sim.keys[0]}, BASE) as src:
        with pytest.raises(SourceAuthError) as caught:
            await read(src, "claude_code", history())
        assert sim.keys[0] not in str(caught.value)
        with pytest.raises(SourceAuthError):
            await read(src, "users")


def test_the_source_declares_its_streams() -> None:
    specs = {s.name: s for s in AnthropicSource.streams}
    assert specs["users"].required and specs["users"].provides == "members"
    assert specs["users"].absent_means_removed
    assert not specs["workspaces"].required and specs["workspaces"].provides == "teams"
    assert specs["api_keys"].provides == "actors"
    assert specs["cost_report"].settle_days == 7
    assert {specs[s].max_window_days for s in ("claude_code", "messages_usage", "cost_report")} == {
        31
    }
