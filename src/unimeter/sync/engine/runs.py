"""A sync run's row, its account lock, its heartbeat, and the events announcing it.

The run row is the operator's view of a sync (``GET /sync-runs``): it is updated with
progress on every heartbeat, so a run that is waiting on Cursor's rate limit says so
while it waits, not only afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.engine import Database
from unimeter.db.models import IntegratedAccount, SyncRun
from unimeter.observability import metrics
from unimeter.sync.engine.report import SyncBusyError, SyncOptions, SyncReport, totals_of
from unimeter.sync.hooks import SyncHooks
from unimeter.sync.schemas import SyncRunOut
from unimeter.sync.store import state_repository as repository
from unimeter.tenancy import repository as tenancy

log = logging.getLogger("unimeter.sync")

INTERRUPTED = "interrupted: the process running it stopped"


class RunTracker:
    def __init__(
        self, db: Database, hooks: SyncHooks, *, lease_ms: int, heartbeat_seconds: float
    ) -> None:
        self.db = db
        self.hooks = hooks
        self.lease_ms = lease_ms
        self.heartbeat_seconds = heartbeat_seconds

    async def open(self, account_id: str, options: SyncOptions, run_id: str | None) -> str:
        """The run's id: the queued run ``run_id`` (or a retried one), else a new run."""
        async with self.db.session() as session:
            run = await repository.get_run(session, run_id) if run_id is not None else None
            if run is None:
                run = SyncRun(
                    id=run_id or new_id("run"),
                    account_id=account_id,
                    trigger=options.trigger,
                    full=options.full,
                    since_ms=options.since_ms,
                )
                await repository.add_run(session, run)
            # Queued until it holds the lock: a run waiting its turn is not yet running.
            run.status, run.finished_at, run.error = "queued", None, None
            return run.id

    async def lock(self, account_id: str, run_id: str, *, wait: bool) -> None:
        """Take the account's lock (waiting for it when ``wait``), then announce the run."""
        while True:
            async with self.db.session() as session:
                outcome = await repository.try_lock(
                    session, account_id, run_id, lease_ms=self.lease_ms
                )
                interrupted = outcome.interrupted_run_id
                # A retried job resumes its own run: that run was not interrupted for good.
                if interrupted and interrupted != run_id:
                    await self._fail(session, interrupted, INTERRUPTED)
                if outcome.acquired:
                    await repository.update_run(
                        session, run_id, status="running", started_at=now_ms()
                    )
                    await self._announce(session, run_id, "sync_run:started")
                    return
            if not wait:
                async with self.db.session() as session:
                    await repository.update_run(
                        session, run_id, status="failed", finished_at=now_ms(), error="busy"
                    )
                raise SyncBusyError(account_id, outcome.holder_run_id)
            await asyncio.sleep(min(1.0, self.heartbeat_seconds))

    async def keep_alive(
        self, account_id: str, run_id: str, snapshot: Callable[[], SyncReport]
    ) -> None:
        """Renew the lease and record progress until cancelled."""

        async def beat(session: AsyncSession) -> bool:
            if not await repository.heartbeat(session, account_id, run_id):
                return False
            await repository.update_run(session, run_id, **_figures(snapshot()))
            return True

        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            # Cancelled when the run ends: a beat already begun is finished, never cut.
            if not await self.db.write(beat):
                log.warning("lost the sync lock of %s", account_id)
                return

    async def close(self, account_id: str, report: SyncReport) -> None:
        if report.status == "running":  # cancelled (shutdown) before it could finish
            report.status, report.error = "failed", report.error or "interrupted: cancelled"
        async with self.db.session() as session:
            await repository.update_run(
                session,
                report.run_id,
                status=report.status,
                finished_at=now_ms(),
                error=report.error,
                **_figures(report),
            )
            await repository.unlock(session, account_id, report.run_id)
            await tenancy.bump_data_version(session, account_id)
            if report.status == "succeeded":
                account = await session.get(IntegratedAccount, account_id)
                if account is not None:
                    account.last_synced_at, account.last_error = now_ms(), None
            event = "sync_run:completed" if report.status == "succeeded" else "sync_run:failed"
            await self._announce(session, report.run_id, event)
        _count(report)

    async def needs_reauth(self, account_id: str, error: str) -> None:
        async with self.db.session() as session:
            await self.hooks.credentials_rejected(session, account_id, error)

    async def _fail(self, session: AsyncSession, run_id: str, error: str) -> None:
        await repository.update_run(
            session, run_id, status="failed", finished_at=now_ms(), error=error
        )
        await self._announce(session, run_id, "sync_run:failed")

    async def _announce(self, session: AsyncSession, run_id: str, event_type: str) -> None:
        run = await session.get(SyncRun, run_id, populate_existing=True)
        account = None if run is None else await session.get(IntegratedAccount, run.account_id)
        if run is None or account is None:
            return
        data = SyncRunOut.of(run).model_dump(mode="json")
        if event_type == "sync_run:completed":
            data["records"] = {
                stream: {"added": stats.inserted, "updated": stats.updated}
                for stream, stats in SyncRunOut.of(run).streams.items()
                if stream != "probe"
            }
        await self.hooks.publish(session, account.environment_id, event_type, data)


def _figures(report: SyncReport) -> dict[str, Any]:
    totals = totals_of(report.streams)
    return {
        "requests": totals.requests,
        "retries": totals.retries,
        "rate_limited": totals.rate_limited,
        "errors": totals.errors,
        "waited_seconds": totals.waited_seconds,
        "stats": {**report.as_dict()["streams"], "_attribution": report.attribution},
    }


def _count(report: SyncReport) -> None:
    metrics.SYNC_RUNS.labels(status=report.status, trigger=report.trigger).inc()
    for stream, stats in report.streams.items():
        if stats.inserted:
            metrics.SYNC_RECORDS.labels(stream=stream, outcome="inserted").inc(stats.inserted)
        if stats.updated:
            metrics.SYNC_RECORDS.labels(stream=stream, outcome="updated").inc(stats.updated)
