"""The scheduler on a fake clock: due syncs fire once per slot, never twice at once."""

from __future__ import annotations

import itertools
from pathlib import Path

from sqlalchemy import select

from tests.support.world import World, make_sim, world
from unimeter.accounts import service as accounts
from unimeter.db.models import IntegratedAccount, SyncRun
from unimeter.sync.scheduling import cadence
from unimeter.sync.scheduling.dispatch import SyncDispatch
from unimeter.sync.scheduling.scheduler import Scheduler

KEYS = ("crsr_" + "a" * 64, "crsr_" + "b" * 64)
MINUTE_MS = 60_000


async def _runs(w: World, account_id: str) -> list[SyncRun]:
    async with w.runtime.db.reader() as session:
        stmt = select(SyncRun).where(SyncRun.account_id == account_id).order_by(SyncRun.created_at)
        return list((await session.scalars(stmt)).all())


async def _account(w: World, account_id: str) -> IntegratedAccount:
    return await accounts.get_account(w.runtime, account_id)


def _assert_never_concurrent(runs: list[SyncRun]) -> None:
    spans = sorted((r.started_at, r.finished_at) for r in runs if r.started_at is not None)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end is not None and start is not None and end <= start, spans


async def test_due_syncs_fire_once_per_slot_on_a_fake_clock(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(api_keys=KEYS, users=6, days=10)
    async with world(database_url, data_dir, sim=sim) as w:
        ids = [await w.link(key) for key in KEYS]
        scheduler = Scheduler(SyncDispatch(w.runtime), tick_seconds=1)

        # Linked accounts are due at once: their first (backfill) sync runs on the first tick.
        first = await scheduler.tick()
        assert sorted(r.account_id for r in first) == sorted(ids)
        assert all(r.trigger == "schedule" for r in first)
        await scheduler.dispatch.wait_idle()
        assert await scheduler.tick() == [], "nothing is due until the next slot"

        period = cadence.period_ms(60, MINUTE_MS)
        a = await _account(w, ids[0])
        assert a.next_sync_at is not None
        assert w.runtime.clock() < a.next_sync_at <= w.runtime.clock() + period
        assert a.next_sync_at == cadence.next_slot(a.id, period, w.runtime.clock())

        # One millisecond before A's slot nothing fires for A; at the slot it fires once.
        sim.clock.advance(ms=a.next_sync_at - 1 - sim.clock.now_ms())
        assert ids[0] not in {r.account_id for r in await scheduler.tick()}
        sim.clock.advance(ms=1)
        fired = [r for r in await scheduler.tick() if r.account_id == ids[0]]
        assert [r.scheduled_for for r in fired] == [a.next_sync_at]
        await scheduler.dispatch.wait_idle()

        # After three hours of downtime each account syncs once, not once per missed slot.
        sim.clock.advance(hours=3)
        caught_up = await scheduler.tick()
        assert sorted(r.account_id for r in caught_up) == sorted(ids)
        await scheduler.dispatch.wait_idle()
        for account_id in ids:
            account = await _account(w, account_id)
            assert account.next_sync_at is not None
            assert account.next_sync_at > w.runtime.clock()
            runs = await _runs(w, account_id)
            assert all(r.status == "succeeded" for r in runs), [(r.status, r.error) for r in runs]
            _assert_never_concurrent(runs)


async def test_a_due_account_already_syncing_is_not_queued_twice(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(api_keys=KEYS[:1], users=6, days=10)
    async with world(database_url, data_dir, sim=sim) as w:
        account_id = await w.link(KEYS[0])
        dispatch = SyncDispatch(w.runtime)
        scheduler = Scheduler(dispatch, tick_seconds=1)
        requested, created = await dispatch.request(account_id)
        assert created
        # The account is due (just linked) but a sync is queued: the tick joins it.
        assert await scheduler.tick() == []
        again, created_again = await dispatch.request(account_id)
        assert (again.id, created_again) == (requested.id, False)
        await dispatch.wait_idle()

        account = await _account(w, account_id)
        assert account.next_sync_at is not None and account.next_sync_at > w.runtime.clock()
        runs = await _runs(w, account_id)
        assert [r.id for r in runs] == [requested.id]
        assert runs[0].status == "succeeded"


async def test_cadence_changes_and_on_demand_accounts(database_url: str, data_dir: Path) -> None:
    sim = make_sim(api_keys=KEYS, users=6, days=10)
    async with world(database_url, data_dir, sim=sim, schedule_minute_seconds=1.0) as w:
        hourly, manual = [await w.link(key) for key in KEYS]
        account = await _account(w, manual)
        await accounts.update_account(w.runtime, account, sync_frequency_minutes=None)
        account = await _account(w, hourly)
        await accounts.update_account(w.runtime, account, sync_frequency_minutes=15)
        account = await _account(w, hourly)
        # A scheduling "minute" is one second here, so the period is 15 s of fake time.
        period = cadence.period_ms(15, 1000)
        assert account.next_sync_at == cadence.next_slot(hourly, period, w.runtime.clock())
        assert (await _account(w, manual)).next_sync_at is None

        scheduler = Scheduler(SyncDispatch(w.runtime), tick_seconds=1)
        for _ in range(4):
            sim.clock.advance(ms=period)
            await scheduler.tick()
            await scheduler.dispatch.wait_idle()
        scheduled = [r for r in await _runs(w, hourly) if r.trigger == "schedule"]
        assert len(scheduled) == 4
        slots = [r.scheduled_for or 0 for r in scheduled]
        assert all(slots), "a scheduled run records its slot"
        assert all(b - a == period for a, b in itertools.pairwise(slots)), slots
        assert await _runs(w, manual) == [], "an on-demand account is never scheduled"


async def test_accounts_spread_over_the_period() -> None:
    period = cadence.period_ms(60, MINUTE_MS)
    phases = [cadence.phase_ms(f"acc_{i:04d}", period) for i in range(1000)]
    # A thousand accounts linked at once land in every tenth of the hour, roughly evenly.
    tenths = [0] * 10
    for phase in phases:
        tenths[phase * 10 // period] += 1
    assert min(tenths) > 70 and max(tenths) < 130, tenths
    for now in (0, 123_456, period * 7 + 5):
        slot = cadence.next_slot("acc_x", period, now)
        assert now < slot <= now + period
        assert (slot - cadence.phase_ms("acc_x", period)) % period == 0
