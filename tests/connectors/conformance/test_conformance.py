"""The checks every connector passes, run against each vendor's simulator.

A vendor joins by writing a harness (``harness.py`` says what one provides) and listing
it in ``harnesses.py``; nothing here names a vendor.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.connectors.conformance.harness import Gate, VendorHarness
from tests.connectors.conformance.world import link, runtime_for, store_snapshot
from unimeter.accounts import service as accounts
from unimeter.connectors.contract import ProxyRequest
from unimeter.connectors.errors import CredentialsRejectedError
from unimeter.db.models import SyncRun
from unimeter.sync.engine.report import SyncAuthError
from unimeter.sync.service import sync_account

SEED = 11


async def test_validation_tells_valid_invalid_and_not_admin_apart(harness: VendorHarness) -> None:
    with harness.start(seed=SEED) as vendor:
        connector = vendor.connector()
        validation = await connector.validate(vendor.credentials("valid"), vendor.base_url)
        assert validation.members > 0
        for kind in ("invalid", "not_admin"):
            with pytest.raises(CredentialsRejectedError) as refused:
                await connector.validate(vendor.credentials(kind), vendor.base_url)
            assert refused.value.reason == kind
            for secret in vendor.credentials(kind).values():
                assert secret not in str(refused.value)


async def test_the_proxy_injects_credentials_and_answers_vendor_refusals(
    harness: VendorHarness,
) -> None:
    with harness.start(seed=SEED) as vendor:
        connector = vendor.connector()
        request = ProxyRequest("GET", harness.proxy_path)
        ok = await connector.proxy(vendor.credentials(), vendor.base_url, request)
        assert ok.status == 200 and ok.body
        refused = await connector.proxy(vendor.credentials("not_admin"), vendor.base_url, request)
        assert refused.status in (401, 403)  # the vendor's answer, forwarded, not raised
        for secret in vendor.credentials().values():
            assert secret not in str(dict(ok.headers))


async def test_sync_equals_ground_truth_over_http(
    harness: VendorHarness, database_url: str, data_dir: Path
) -> None:
    with harness.start(seed=SEED, transport="http") as vendor:
        async with runtime_for(vendor.connector(), database_url, data_dir, vendor.now_ms()) as rt:
            account_id = await link(rt, harness, vendor)
            report = await sync_account(rt, account_id)
            assert report.status == "succeeded", report.error
            assert report.warnings == []
            await vendor.assert_matches_truth(rt, account_id)


async def test_a_401_during_sync_makes_the_account_need_reauth(
    harness: VendorHarness, database_url: str, data_dir: Path
) -> None:
    with harness.start(seed=SEED) as vendor:
        async with runtime_for(vendor.connector(), database_url, data_dir, vendor.now_ms()) as rt:
            account_id = await link(rt, harness, vendor)
            vendor.revoke()
            with pytest.raises(SyncAuthError):
                await sync_account(rt, account_id)
            account = await accounts.get_account(rt, account_id)
            assert account.status == "needs_reauth"
            asked = vendor.requests()
            with pytest.raises(SyncAuthError):
                await sync_account(rt, account_id)
            assert vendor.requests() == asked  # no call until new credentials arrive


@pytest.mark.parametrize("gate", [403, 404])
async def test_a_refused_optional_stream_is_unavailable_and_the_run_succeeds(
    harness: VendorHarness, database_url: str, data_dir: Path, gate: Gate
) -> None:
    with harness.start(seed=SEED, gate=gate) as vendor:
        async with runtime_for(vendor.connector(), database_url, data_dir, vendor.now_ms()) as rt:
            account_id = await link(rt, harness, vendor)
            report = await sync_account(rt, account_id)
            assert report.status == "succeeded", report.error
            unavailable = {n for n, s in report.streams.items() if s.status == "unavailable"}
            assert unavailable == harness.gated_streams
            assert len(report.warnings) == len(harness.gated_streams)
            assert all(str(gate) in (report.streams[n].unavailable_reason or "")
                       for n in unavailable)  # fmt: skip
            account = await accounts.get_account(rt, account_id)
            caps = (await accounts.capabilities(rt, [account]))[account_id]
            assert {c.stream for c in caps if c.status == "unavailable"} == harness.gated_streams
            await vendor.assert_matches_truth(rt, account_id)


async def test_small_pages_bring_every_record(
    harness: VendorHarness, database_url: str, data_dir: Path
) -> None:
    with harness.start(seed=SEED, small_pages=True) as vendor:
        async with runtime_for(vendor.connector(), database_url, data_dir, vendor.now_ms()) as rt:
            account_id = await link(rt, harness, vendor)
            report = await sync_account(rt, account_id)
            usage = report.streams[harness.usage_stream]
            assert usage.requests > usage.windows  # more than one page per window
            await vendor.assert_matches_truth(rt, account_id)


async def test_a_second_sync_writes_nothing_new(
    harness: VendorHarness, database_url: str, data_dir: Path
) -> None:
    with harness.start(seed=SEED) as vendor:
        async with runtime_for(vendor.connector(), database_url, data_dir, vendor.now_ms()) as rt:
            account_id = await link(rt, harness, vendor)
            first = await sync_account(rt, account_id)
            leave_out = harness.per_run_tables
            before = await store_snapshot(rt, account_id, leave_out=leave_out)
            again = await sync_account(rt, account_id)
            assert again.status == "succeeded"
            written = {n: (s.inserted, s.updated) for n, s in again.streams.items()
                       if (s.inserted or s.updated) and n not in harness.per_run_streams}  # fmt: skip
            assert written == {}
            assert sum(s.inserted for s in first.streams.values()) > 0
            assert sum(s.unchanged for s in again.streams.values()) > 0  # it did read
            assert await store_snapshot(rt, account_id, leave_out=leave_out) == before


def _child(harness: VendorHarness, account_id: str, now_ms: int) -> list[str]:
    module = "tests.connectors.conformance.child"
    return [sys.executable, "-m", module, harness.name, account_id, str(now_ms)]


@pytest.mark.slow  # long; the kill waits for a request count this process's simulator serves
async def test_sigkill_mid_sync_then_resume_is_exact(
    harness: VendorHarness, database_url: str, data_dir: Path
) -> None:
    with harness.start(seed=SEED, transport="http", small_pages=True) as vendor:
        now = vendor.now_ms()
        async with runtime_for(vendor.connector(), database_url, data_dir, now) as rt:
            account_id = await link(rt, harness, vendor)
        env = {**os.environ, "UNIMETER_DATABASE_URL": database_url,
               "UNIMETER_DATA_DIR": str(data_dir)}  # fmt: skip
        points = sorted(random.Random(2026).sample(range(2, 12), 3))
        for point in points:
            target = vendor.requests() + point
            proc = subprocess.Popen(
                _child(harness, account_id, now), env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while vendor.requests() < target and proc.poll() is None:
                assert time.monotonic() < deadline, "the sync never got that far"
                time.sleep(0.001)
            assert proc.poll() is None, "the sync finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        final = subprocess.run(
            _child(harness, account_id, now), env=env, capture_output=True, text=True, timeout=120
        )
        assert final.returncode == 0, final.stderr

        async with runtime_for(vendor.connector(), database_url, data_dir, now) as rt:
            await vendor.assert_matches_truth(rt, account_id)
            async with rt.db.reader() as session:
                runs = await session.scalars(
                    select(SyncRun).where(SyncRun.account_id == account_id)
                )
                statuses = sorted((r.created_at, r.status, r.error or "") for r in runs)
        assert [s for _, s, _ in statuses] == ["failed"] * len(points) + ["succeeded"]
        # Each killed run was found and closed by the run that took over its lock.
        assert all("interrupted" in e for _, _, e in statuses[:-1])
