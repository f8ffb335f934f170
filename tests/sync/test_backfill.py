"""A full backfill stores exactly what the simulator holds, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support.compare import (
    assert_daily_equal_truth,
    assert_events_equal_truth,
    assert_latest_spend_equals_truth,
    assert_members_equal_truth,
    assert_memberships_equal_truth,
    audit_ids,
    canonical,
    rows,
)
from tests.support.world import world
from unimeter.db.models import SpendSnapshot, SyncRun, SyncState, UsageEvent, UsageEventRevision
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account


@pytest.mark.parametrize("transport", ["asgi", "http"])
async def test_backfill_equals_ground_truth(
    database_url: str, data_dir: Path, transport: str
) -> None:
    async with world(database_url, data_dir, transport=transport) as w:
        account_id = await w.link(tenant_id="acme")
        report = await sync_account(w.runtime, account_id)
        assert report.status == "succeeded"
        truth = w.sim.truth()
        floor = truth.history_start_ms
        await assert_events_equal_truth(w.runtime, account_id, truth.events(floor))
        await assert_daily_equal_truth(w.runtime, account_id, truth.daily_usage(floor))
        await assert_members_equal_truth(w.runtime, account_id, truth.members())
        await assert_memberships_equal_truth(w.runtime, account_id, truth.members(), floor)
        await assert_latest_spend_equals_truth(w.runtime, account_id, truth.spend())
        assert await audit_ids(w.runtime, account_id) == {
            e["event_id"] for e in truth.audit_events(floor)
        }
        assert report.streams["usage_events"].inserted == len(truth.events(floor))
        assert all(s.rate_limited == 0 for s in report.streams.values())


async def test_second_run_changes_nothing(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        first = await sync_account(w.runtime, account_id)
        again = await sync_account(w.runtime, account_id, SyncOptions(full=True))
        for name, stats in again.streams.items():
            if name == "spend":
                continue  # a snapshot per sync is the point of the spend stream
            assert (stats.inserted, stats.updated) == (0, 0), (name, stats)
            # Read again, unless the first run found nothing (the test team tracks no
            # commits and runs no agents), or the vendor said "unchanged" (a 304).
            if first.streams[name].records:
                assert stats.unchanged + stats.not_modified > 0, name
        incremental = await sync_account(w.runtime, account_id)
        assert all(
            (s.inserted, s.updated) == (0, 0)
            for n, s in incremental.streams.items()
            if n != "spend"
        )
        snapshots = await rows(w.runtime, SpendSnapshot, account_id)
        assert len(snapshots) == 3
        runs = await rows(w.runtime, SyncRun, account_id)
        assert [r.status for r in runs] == ["succeeded"] * 3
        assert all(r.requests > 0 for r in runs)


async def test_incremental_run_reads_only_the_lookback(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        first = await sync_account(w.runtime, account_id)
        w.sim.clock.advance(hours=1)
        second = await sync_account(w.runtime, account_id)
        assert second.streams["usage_events"].windows == 1
        assert second.streams["usage_events"].requests < first.streams["usage_events"].requests
        assert second.streams["usage_events"].inserted > 0, "an hour of new events"
        async with w.runtime.db.reader() as session:
            watermarks = dict(
                (
                    await session.execute(
                        select(SyncState.stream, SyncState.watermark_ms).where(
                            SyncState.account_id == account_id
                        )
                    )
                ).all()
            )
            count = await session.scalar(select(func.count()).select_from(SyncRun))
        assert watermarks["usage_events"] == w.sim.clock.now_ms()
        assert count == 2
        # The lookback re-read yesterday and today: that part equals Cursor exactly now.
        now = w.sim.clock.now_ms()
        lookback_start = now // 86_400_000 * 86_400_000 - 86_400_000
        truth = w.sim.truth()
        stored = [
            e
            for e in await rows(w.runtime, UsageEvent, account_id)
            if e.timestamp_ms >= lookback_start
        ]
        recent = truth.events(lookback_start)
        assert sorted(canonical(e.raw) for e in stored) == sorted(
            canonical(t.payload) for t in recent
        )


async def test_lookback_picks_up_retroactive_cost_changes(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        w.sim.truth().bump_costs()  # Cursor re-prices every event of the last 48 hours
        lookback = SyncOptions(lookback_days={"usage_events": 2})
        report = await sync_account(w.runtime, account_id, lookback)
        assert report.streams["usage_events"].updated > 0
        assert report.streams["usage_events"].inserted == 0
        truth = w.sim.truth()
        stored = await assert_events_equal_truth(
            w.runtime, account_id, truth.events(truth.history_start_ms)
        )
        changed = [e for e in stored if e.revisions > 0]
        revisions = await rows(w.runtime, UsageEventRevision, account_id)
        assert len(revisions) == len(changed) == report.streams["usage_events"].updated


async def test_settlement_rereads_three_days_once_a_day(database_url: str, data_dir: Path) -> None:
    events_only = SyncOptions(streams=frozenset({"usage_events"}))
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        w.sim.clock.advance(hours=1)
        hourly = await sync_account(w.runtime, account_id, events_only)
        w.sim.clock.advance(hours=25)
        daily = await sync_account(w.runtime, account_id, events_only)
        now = w.sim.clock.now_ms()
        day = 86_400_000
        truth = w.sim.truth()
        one_day = len(truth.events((now - 26 * 3_600_000) // day * day - day))
        three_days = len(truth.events((now - 26 * 3_600_000) // day * day - 3 * day))
        assert daily.streams["usage_events"].records == three_days
        assert hourly.streams["usage_events"].records < one_day
        # Events older than the adjustment window now hold their final values.
        settled = [
            t for t in truth.events(truth.history_start_ms) if t.timestamp_ms < now - 2 * day
        ]
        stored = [
            e
            for e in await rows(w.runtime, UsageEvent, account_id)
            if e.timestamp_ms < now - 2 * day
        ]
        assert sorted(canonical(e.raw) for e in stored) == sorted(
            canonical(t.payload) for t in settled
        )
