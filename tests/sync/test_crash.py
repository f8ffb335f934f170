"""A sync killed with SIGKILL at random points resumes with no duplicates and no gaps."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.compare import (
    assert_daily_equal_truth,
    assert_events_equal_truth,
    audit_ids,
    rows,
)
from tests.support.live import serve
from tests.support.world import make_sim
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import create_app
from unimeter.db.models import SyncRun

# Long, not timing-sensitive: the kill waits for a request count, and each request is
# answered by this process's simulator, so a busy machine slows the sync and the kill alike.
pytestmark = pytest.mark.slow


def _cli(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("unimeter")), *args]


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "UNIMETER_DATABASE_URL": database_url,
        "UNIMETER_DATA_DIR": str(data_dir),
        "UNIMETER_CURSOR_MINUTE_SECONDS": "0.01",
    }


async def test_sigkill_at_random_points_then_resume_is_exact(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(seed=11, users=30, days=60)
    key = sim.keys[0]
    settings = Settings(data_dir=data_dir, database_url=database_url)
    with serve(create_app(sim)) as base_url:
        runtime = await open_runtime(settings)
        try:
            account = await link_account(
                runtime, LinkRequest(integration="cursor", credentials=key, base_url=base_url)
            )
        finally:
            await runtime.close()

        env = _env(database_url, data_dir)
        kill_points = sorted(random.Random(2026).sample(range(3, 60), 3))
        for point in kill_points:
            target = sim.requests[key] + point
            proc = subprocess.Popen(
                _cli("sync", account.id), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            deadline = time.monotonic() + 60
            while sim.requests[key] < target and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync never got that far"
                time.sleep(0.001)
            assert proc.poll() is None, "the sync finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        final = subprocess.run(
            _cli("sync", account.id, "--json"), env=env, capture_output=True, text=True, timeout=120
        )
        assert final.returncode == 0, final.stderr

    runtime = await open_runtime(settings)
    try:
        truth = sim.truth()
        await assert_events_equal_truth(runtime, account.id, truth.events(truth.history_start_ms))
        await assert_daily_equal_truth(
            runtime, account.id, truth.daily_usage(truth.history_start_ms)
        )
        assert await audit_ids(runtime, account.id) == {
            e["event_id"] for e in truth.audit_events(truth.history_start_ms)
        }
        runs = sorted(await rows(runtime, SyncRun, account.id), key=lambda r: r.created_at)
        assert [r.status for r in runs] == ["failed"] * len(kill_points) + ["succeeded"]
        # Each killed run was found and closed by the run that took over its lock.
        assert all(r.error and "interrupted" in r.error for r in runs[:-1])
    finally:
        await runtime.close()
