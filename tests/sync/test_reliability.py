"""Faults, rate limits, revoked keys, retention, removals and the per-account lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.compare import (
    assert_daily_equal_truth,
    assert_events_equal_truth,
    canonical,
    rows,
)
from tests.support.world import SIM_BASE_URL, make_sim, world
from unimeter.accounts.service import get_account
from unimeter.connectors.cursor.simulator import create_app
from unimeter.db.models import DailyUsage, Member, SyncRun, UsageEvent
from unimeter.sync.engine.report import SyncAuthError, SyncBusyError, SyncOptions
from unimeter.sync.scheduling.dispatch import SyncDispatch
from unimeter.sync.schemas import SyncRunOut
from unimeter.sync.service import sync_account
from unimeter.sync.store import state_repository

DAY = 86_400_000


async def test_faulty_cursor_still_gives_the_exact_result(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(fault_rate=0.1, slow_seconds=1.0)
    async with world(database_url, data_dir, sim=sim, transport="http", timeout=0.5) as w:
        account_id = await w.link()
        report = await sync_account(w.runtime, account_id)
        truth = w.sim.truth()
        await assert_events_equal_truth(w.runtime, account_id, truth.events(truth.history_start_ms))
        await assert_daily_equal_truth(
            w.runtime, account_id, truth.daily_usage(truth.history_start_ms)
        )
        assert sum(s.retries for s in report.streams.values()) > 0, "faults were retried"
        assert sum(w.sim.faults.injected.values()) > 0


async def test_real_rate_limits_on_a_scaled_clock_give_zero_429s(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(rate_limits="real", minute_seconds=0.25)
    async with world(database_url, data_dir, sim=sim, minute_seconds=0.25) as w:
        account_id = await w.link()
        report = await sync_account(w.runtime, account_id)
        assert all(s.rate_limited == 0 for s in report.streams.values()), report.streams
        assert report.streams["daily_usage"].requests + report.streams["audit_logs"].requests > 0
        truth = w.sim.truth()
        await assert_events_equal_truth(w.runtime, account_id, truth.events(truth.history_start_ms))


async def test_a_rate_limited_run_waits_resumes_and_says_why(
    database_url: str, data_dir: Path
) -> None:
    # Another tool on the same key has just spent the admin API's budget (20 a minute, a
    # minute being 1 s here): the sync's first calls get 429 with Retry-After, it waits and
    # finishes on its own.
    sim = make_sim(rate_limits="real", minute_seconds=1.0, users=8, days=20)
    async with world(database_url, data_dir, sim=sim, minute_seconds=0.01) as w:
        account_id = await w.link()
        transport = httpx.ASGITransport(app=create_app(sim))
        async with httpx.AsyncClient(transport=transport, base_url=SIM_BASE_URL) as other:
            statuses = [
                (await other.get("/teams/members", auth=(sim.keys[0], ""))).status_code
                for _ in range(25)
            ]
        assert 429 in statuses, "the other tool exhausted the budget"
        dispatch = SyncDispatch(w.runtime)
        run, _ = await dispatch.request(account_id)
        await dispatch.wait_idle()
        async with w.runtime.db.reader() as session:
            stored = await state_repository.get_run(session, run.id)
        assert stored is not None
        shown = SyncRunOut.of(stored)
        assert shown.status == "succeeded", shown.error
        assert shown.rate_limited > 0
        assert shown.wait_reason is not None and "429" in shown.wait_reason
        assert "Retry-After" in shown.wait_reason
        truth = w.sim.truth()
        await assert_events_equal_truth(w.runtime, account_id, truth.events(truth.history_start_ms))


async def test_revoked_key_fails_fast_and_stops_calling_cursor(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        key = w.sim.keys[0]
        w.sim.revoke(key)
        before = w.sim.requests[key]
        with pytest.raises(SyncAuthError):
            await sync_account(w.runtime, account_id)
        account = await get_account(w.runtime, account_id)
        assert account.status == "needs_reauth"
        assert account.last_error and key not in account.last_error
        # Revoked keys are refused before a team's counter moves; nothing else was tried.
        assert w.sim.requests[key] == before
        with pytest.raises(SyncAuthError):
            await sync_account(w.runtime, account_id)
        runs = await rows(w.runtime, SyncRun, account_id)
        assert [r.status for r in runs] == ["failed"]
        assert runs[0].requests == 1, "one call (members) and then nothing"


async def test_data_past_retention_stays_stored(database_url: str, data_dir: Path) -> None:
    sim = make_sim(days=45, retention_days=45)
    async with world(database_url, data_dir, sim=sim) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        oldest_before = min(e.timestamp_ms for e in await rows(w.runtime, UsageEvent, account_id))
        w.sim.clock.advance(hours=24 * 10)
        truth = w.sim.truth()
        assert truth.retention_start_ms > oldest_before, "the oldest days fell out of retention"
        await sync_account(w.runtime, account_id)
        stored = await assert_events_equal_truth(
            w.runtime, account_id, truth.events(truth.history_start_ms)
        )
        assert min(e.timestamp_ms for e in stored) == oldest_before


async def test_backfill_after_removals_never_misattributes(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        truth = w.sim.truth()
        events = truth.events(truth.history_start_ms)
        after = [t for t in events if t.after_removal]
        assert after, "the simulated team has a cloud agent running past a removal"
        truth_email = {canonical(t.payload): t.email for t in events}
        stored = await rows(w.runtime, UsageEvent, account_id)
        recovered = [e for e in stored if e.email is not None and not e.raw.get("userEmail")]
        for e in recovered:
            assert e.email == truth_email[canonical(e.raw)], "attributed to the wrong person"
        # Daily rows keep emails, so usage after a removal is flagged there even when the
        # events themselves cannot be attributed.
        days = [d for d in await rows(w.runtime, DailyUsage, account_id) if d.after_removal]
        assert days
        assert {d.email for d in days} <= {t.email for t in after}


async def test_usage_after_removal_is_flagged_on_a_live_team(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(seed=4, users=60, days=30)  # seed 4 has a removal five days ahead
    team = sim.team(sim.keys[0])
    now = sim.clock.now_ms()
    leaver = min(
        (m for m in team.members if m.removed_ms and m.removed_ms > now and m.residual_until_ms),
        key=lambda m: m.removed_ms or 0,
    )
    assert leaver.removed_ms is not None and leaver.residual_until_ms is not None
    async with world(database_url, data_dir, sim=sim) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        w.sim.clock.advance(ms=leaver.removed_ms - 3_600_000 - now)
        await sync_account(w.runtime, account_id)  # the last sync while they are a member
        w.sim.clock.advance(ms=leaver.residual_until_ms + 4 * 3_600_000 - w.sim.clock.now_ms())
        report = await sync_account(w.runtime, account_id)
        truth = w.sim.truth()
        tail = {
            canonical(t.payload)
            for t in truth.events(truth.history_start_ms)
            if t.after_removal and t.email == leaver.email
        }
        assert tail, "their cloud agent kept running after the removal"
        stored = await rows(w.runtime, UsageEvent, account_id)
        flagged = [e for e in stored if e.after_removal]
        assert flagged
        assert {e.email for e in flagged} == {leaver.email}
        assert {canonical(e.raw) for e in flagged} <= tail
        assert report.attribution["events_after_removal"] == len(flagged)
        members = {m.email: m for m in await rows(w.runtime, Member, account_id)}
        assert members[leaver.email].is_removed
        assert members[leaver.email].removal_source == "audit_log"
        assert members[leaver.email].removed_at == leaver.removed_ms


async def test_removal_then_full_resync_adds_no_rows_and_keeps_emails(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        before = {e.fingerprint: e.email for e in await rows(w.runtime, UsageEvent, account_id)}
        truth = w.sim.truth()
        member = next(m for m in truth.members() if m.removed_ms is None and m.role == "member")
        team = w.sim.team(w.sim.keys[0])
        team.remove_member(team.member_by_email(member.email))  # type: ignore[arg-type]
        w.sim.clock.advance(hours=2)
        report = await sync_account(w.runtime, account_id, SyncOptions(full=True))
        after = {e.fingerprint: e for e in await rows(w.runtime, UsageEvent, account_id)}
        assert set(before) <= set(after)
        assert report.streams["usage_events"].inserted == len(after) - len(before)
        theirs = [e for fp, e in after.items() if before.get(fp) == member.email]
        assert theirs, "the member had events before the removal"
        assert all(e.email == member.email and e.raw["userEmail"] == "" for e in theirs)


async def test_one_sync_per_account_at_a_time(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        results = await asyncio.gather(
            sync_account(w.runtime, account_id),
            sync_account(w.runtime, account_id),
            return_exceptions=True,
        )
        busy = [r for r in results if isinstance(r, SyncBusyError)]
        done = [r for r in results if not isinstance(r, BaseException)]
        assert len(busy) == 1
        assert len(done) == 1
        waited = await asyncio.gather(
            sync_account(w.runtime, account_id, SyncOptions(wait_for_lock=True)),
            sync_account(w.runtime, account_id, SyncOptions(wait_for_lock=True)),
        )
        assert [r.status for r in waited] == ["succeeded", "succeeded"]
