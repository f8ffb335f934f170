"""A team whose plan lacks some endpoints syncs what it has and says what it lacks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.compare import (
    assert_daily_equal_truth,
    assert_events_equal_truth,
    assert_latest_spend_equals_truth,
    assert_members_equal_truth,
)
from tests.support.world import World, make_sim, world
from unimeter.accounts import service as accounts
from unimeter.db.models import AuditEvent, BillingGroup, SyncRun
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.schemas import SyncRunOut
from unimeter.sync.service import sync_account

# Cursor's Enterprise-only streams (Cloud Agents are documented for every plan).
GATED = (
    "billing_groups", "audit_logs", "ai_code_commits", "ai_code_changes", "team_analytics",
    "user_analytics", "conversation_insights",
)  # fmt: skip
FAMILIES = (
    ("billing_groups",), ("audit_logs",), ("ai_code_commits", "ai_code_changes"),
    ("team_analytics", "user_analytics", "conversation_insights"),
)  # fmt: skip


async def _count(w: World, model: type[AuditEvent] | type[BillingGroup], account_id: str) -> int:
    async with w.runtime.db.reader() as session:
        total = await session.scalar(
            select(func.count()).select_from(model).where(model.account_id == account_id)
        )
    return int(total or 0)


@pytest.mark.parametrize("transport", ["asgi", "http"])
async def test_team_plan_syncs_every_available_stream_exactly(
    database_url: str, data_dir: Path, transport: str
) -> None:
    async with world(database_url, data_dir, sim=make_sim(plan="team"), transport=transport) as w:
        account_id = await w.link()
        report = await sync_account(w.runtime, account_id)

        assert report.status == "succeeded"
        truth = w.sim.truth()
        floor = truth.history_start_ms
        await assert_members_equal_truth(w.runtime, account_id, truth.members())
        await assert_events_equal_truth(w.runtime, account_id, truth.events(floor))
        await assert_daily_equal_truth(w.runtime, account_id, truth.daily_usage(floor))
        await assert_latest_spend_equals_truth(w.runtime, account_id, truth.spend())
        assert await _count(w, AuditEvent, account_id) == 0
        assert await _count(w, BillingGroup, account_id) == 0
        for name in GATED:
            stats = report.streams[name]
            assert stats.status == "unavailable", name
            assert "Enterprise access required" in (stats.unavailable_reason or ""), name
        # Refused once, not retried: one request per stream, or per API family for the
        # streams of one family (they wait for its first answer).
        for family in FAMILIES:
            made = sum(report.streams[name].requests for name in family)
            assert made == 1, (family, made)
        assert {s for s, st in report.streams.items() if st.status == "unavailable"} == set(GATED)
        assert len(report.warnings) == len(GATED)

        async with w.runtime.db.reader() as session:
            run = await session.get(SyncRun, report.run_id)
        assert run is not None
        shown = SyncRunOut.of(run)
        assert shown.status == "succeeded"
        assert sorted(x.split(" ")[0] for x in shown.warnings) == sorted(GATED)
        assert shown.streams["audit_logs"].status == "unavailable"

        account = await accounts.get_account(w.runtime, account_id)
        caps = {
            c.stream: c for c in (await accounts.capabilities(w.runtime, [account]))[account_id]
        }
        assert {n for n, c in caps.items() if c.status == "unavailable"} == set(GATED)
        assert {n for n, c in caps.items() if c.status == "available"} == {
            "members", "daily_usage", "usage_events", "spend", "agent_runs"
        }  # fmt: skip
        assert caps["audit_logs"].provides == "audit_log"
        checked = caps["billing_groups"].checked_at
        assert checked is not None
        assert caps["billing_groups"].next_check_at == checked + 86_400_000


async def test_unavailable_streams_are_asked_again_once_a_day(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir, sim=make_sim(plan="team")) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        requests_before = w.sim.requests[w.sim.keys[0]]

        w.sim.clock.advance(hours=2)
        second = await sync_account(w.runtime, account_id)
        assert second.status == "succeeded"
        for name in GATED:
            assert second.streams[name].status == "unavailable"
            assert second.streams[name].requests == 0, name
        assert w.sim.requests[w.sim.keys[0]] > requests_before  # the other streams did run

        # The team upgrades; the next check, a day after the last, finds the streams.
        w.sim.config = dataclasses.replace(w.sim.config, plan="enterprise")
        w.sim.clock.advance(hours=23)
        third = await sync_account(w.runtime, account_id)
        assert third.status == "succeeded"
        assert third.warnings == []
        assert third.streams["audit_logs"].status == "synced"
        assert third.streams["audit_logs"].requests > 0
        assert await _count(w, AuditEvent, account_id) > 0
        account = await accounts.get_account(w.runtime, account_id)
        caps = (await accounts.capabilities(w.runtime, [account]))[account_id]
        assert all(c.status == "available" for c in caps), caps


async def test_a_run_that_names_a_stream_asks_for_it_again(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir, sim=make_sim(plan="team")) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        again = await sync_account(
            w.runtime, account_id, SyncOptions(streams=frozenset({"members", "audit_logs"}))
        )
        assert again.streams["audit_logs"].requests == 1
        assert again.streams["audit_logs"].status == "unavailable"


async def test_an_account_never_synced_has_unknown_capabilities(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        account = await accounts.get_account(w.runtime, account_id)
        caps = (await accounts.capabilities(w.runtime, [account]))[account_id]
        assert caps and all(c.status == "unknown" for c in caps)
        assert len(caps) == len(w.runtime.registry.get("cursor").streams)
