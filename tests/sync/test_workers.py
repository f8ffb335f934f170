"""Scale-out on PostgreSQL: ``unimeter worker`` processes share the schedule and survive
one another's death.

These run real worker processes against the machine's PostgreSQL, with scheduling time
compressed (one scheduling "minute" is a second) so two cadence periods fit in a test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.cli import unimeter_exe
from tests.support.compare import assert_daily_equal_truth, assert_events_equal_truth
from tests.support.databases import PostgresDatabases
from tests.support.live import serve
from tests.support.world import make_sim
from unimeter.accounts import service as accounts
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import create_app
from unimeter.db.base import now_ms
from unimeter.db.models import SyncRun
from unimeter.runtime import Runtime
from unimeter.sync.scheduling import cadence
from unimeter.sync.scheduling.dispatch import SyncDispatch
from unimeter.sync.scheduling.queue import JobQueue

# A scheduling minute is a second: workers that share a busy machine miss 15-second slots.
pytestmark = [pytest.mark.slow, pytest.mark.timing]

MINUTE_SECONDS = 1.0  # a 15-minute cadence lasts 15 s
POLL_SECONDS = 0.2  # how often the test reads the runs table while workers work


@pytest.fixture
def pg_url(postgres_databases: PostgresDatabases | None) -> str:
    if postgres_databases is None:
        pytest.skip("worker tests need PostgreSQL: set UNIMETER_TEST_DATABASE_URL (CI sets it)")
    return postgres_databases.create()


def _settings(pg_url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=pg_url,
        allow_private_urls=True,
        schedule_minute_seconds=MINUTE_SECONDS,
    )


def _worker_env(pg_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIMETER_")}
    env.update(
        UNIMETER_DATABASE_URL=pg_url,
        UNIMETER_DATA_DIR=str(data_dir),
        UNIMETER_ALLOW_PRIVATE_URLS="1",
        UNIMETER_CURSOR_MINUTE_SECONDS="0.01",
        UNIMETER_SCHEDULE_MINUTE_SECONDS=str(MINUTE_SECONDS),
        UNIMETER_SCHEDULER_TICK_SECONDS="1",
        UNIMETER_WORKER_HEARTBEAT_SECONDS="0.5",
        UNIMETER_STALLED_WORKER_SECONDS="3",
        UNIMETER_SYNC_LEASE_SECONDS="30",
    )
    return env


@contextmanager
def workers(
    count: int, env: dict[str, str], log_dir: Path, tag: str = "w"
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start ``count`` worker processes (logs in ``log_dir``); SIGTERM them afterwards."""
    procs = []
    for n in range(count):
        log = (log_dir / f"worker-{tag}{n}.log").open("wb")
        procs.append(
            subprocess.Popen(
                [unimeter_exe(), "worker", "--concurrency", "4", "--name", f"{tag}{n}"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _runs(runtime: Runtime) -> list[SyncRun]:
    async with runtime.db.reader() as session:
        return list((await session.scalars(select(SyncRun).order_by(SyncRun.created_at))).all())


async def _poll(
    runtime: Runtime,
    done: Callable[[list[SyncRun]], bool],
    *,
    timeout: float,
    procs: list[subprocess.Popen[bytes]],
) -> list[SyncRun]:
    """Read the runs until ``done`` holds; fail at the deadline or if a worker exits."""
    deadline = time.monotonic() + timeout
    while True:
        runs = await _runs(runtime)
        if done(runs):
            return runs
        assert all(p.poll() is None for p in procs), "a worker exited early; see its log"
        assert time.monotonic() < deadline, f"not done in {timeout}s: {len(runs)} runs"
        await asyncio.sleep(POLL_SECONDS)


async def test_three_workers_sync_thirty_accounts_once_per_period(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    keys = tuple(f"crsr_{n:064d}" for n in range(30))
    sim = make_sim(api_keys=keys, users=4, days=5, now_ms=now_ms())
    period = cadence.period_ms(15, int(MINUTE_SECONDS * 1000))
    with serve(create_app(sim)) as base_url:
        runtime = await open_runtime(_settings(pg_url, data_dir))
        try:
            first_slots: dict[str, int | None] = {}
            for key in keys:
                link = accounts.LinkRequest(
                    integration="cursor", credentials=key, base_url=base_url
                )
                account = await accounts.link_account(runtime, link)
                # Straight onto the 15-minute grid (no immediate first sync).
                updated = await accounts.update_account(runtime, account, sync_frequency_minutes=15)
                first_slots[updated.id] = updated.next_sync_at
            ids = list(first_slots)
            with workers(3, _worker_env(pg_url, data_dir), tmp_path) as procs:

                def two_periods_done(runs: list[SyncRun]) -> bool:
                    finished = [r for r in runs if r.status in ("succeeded", "failed")]
                    per_account = dict.fromkeys(ids, 0)
                    for run in finished:
                        per_account[run.account_id] += 1
                    return min(per_account.values()) >= 2

                await _poll(runtime, two_periods_done, timeout=150, procs=procs)
            runs = await _runs(runtime)
        finally:
            await runtime.close()

    by_account: dict[str, list[SyncRun]] = {a: [] for a in ids}
    for run in runs:
        by_account[run.account_id].append(run)
    for account_id, account_runs in by_account.items():
        assert all(r.trigger == "schedule" for r in account_runs)
        finished = [r for r in account_runs if r.status != "queued"]
        assert all(r.status == "succeeded" for r in finished), [
            (r.status, r.error) for r in finished
        ]
        # At most one run per slot, on the account's grid. A slot goes without one only while
        # the account's previous run is unfinished (a busy account is not queued twice), or
        # when the scheduler queued that previous run after the slot had passed (it skips
        # missed slots): on a slow machine a sync can outlast a compressed period.
        by_slot = {r.scheduled_for: r for r in account_runs if r.scheduled_for is not None}
        slots = sorted(by_slot)
        assert slots[0] == first_slots[account_id]
        assert len(slots) == len(account_runs)
        for a, b in itertools.pairwise(slots):
            assert (b - a) % period == 0, slots
            if b - a > period:
                previous, skipped = by_slot[a], b - period
                busy = previous.finished_at is None or previous.finished_at > skipped
                assert busy or previous.created_at > skipped, (slots, previous.finished_at)
        # Never two syncs of one account at the same time.
        spans = sorted((r.started_at, r.finished_at) for r in finished)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end is not None and start is not None and end <= start


async def test_a_killed_worker_job_completes_on_another_with_exact_data(
    pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    sim = make_sim(seed=11, users=30, days=60, now_ms=now_ms())
    key = sim.keys[0]
    env = _worker_env(pg_url, data_dir)
    with serve(create_app(sim)) as base_url:
        runtime = await open_runtime(_settings(pg_url, data_dir))
        try:
            link = accounts.LinkRequest(
                integration="cursor",
                credentials=key,
                base_url=base_url,
                sync_frequency_minutes=None,
            )
            account = await accounts.link_account(runtime, link)
            queue = JobQueue(runtime)
            run, _ = await SyncDispatch(runtime, queue=queue).request(account.id)
            with workers(1, env, tmp_path, "a") as first:
                deadline = time.monotonic() + 60
                while sim.requests[key] < 25:
                    assert first[0].poll() is None, "the worker exited early"
                    assert time.monotonic() < deadline, "the sync never started"
                    await asyncio.sleep(POLL_SECONDS)
                with workers(1, env, tmp_path, "b") as second:
                    first[0].send_signal(signal.SIGKILL)
                    first[0].wait()
                    requests_at_kill, killed_at = sim.requests[key], now_ms()
                    done = await _poll(
                        runtime,
                        lambda runs: runs[0].status in ("succeeded", "failed"),
                        timeout=120,
                        procs=second,
                    )
            assert [r.id for r in done] == [run.id], "the job resumed the same run"
            assert done[0].status == "succeeded", done[0].error
            assert sim.requests[key] > requests_at_kill
            # The second worker put the dead worker's job back in the queue and ran it.
            assert done[0].started_at is not None and done[0].started_at >= killed_at
            assert "retrying job" in (tmp_path / "worker-b0.log").read_text()
            truth = sim.truth(key)
            await assert_events_equal_truth(
                runtime, account.id, truth.events(truth.history_start_ms)
            )
            await assert_daily_equal_truth(
                runtime, account.id, truth.daily_usage(truth.history_start_ms)
            )
        finally:
            await runtime.close()
