"""Where requested and scheduled syncs go: this process, or procrastinate workers.

Every path (an API request, the embedded scheduler, the queue's periodic task) creates a
``queued`` run row here, coalescing with a run of the same account that is already
queued or running, and every path ends in :func:`unimeter.sync.service.sync_account`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.models import IntegratedAccount, SyncRun
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncAuthError, SyncOptions
from unimeter.sync.engine.runs import INTERRUPTED
from unimeter.sync.scheduling import cadence
from unimeter.sync.service import sync_account
from unimeter.sync.store import state_repository as runs_repo
from unimeter.tenancy import repository as tenancy

if TYPE_CHECKING:
    from unimeter.sync.scheduling.queue import JobQueue

log = logging.getLogger("unimeter.sync")

DUE_BATCH = 500


class SyncDispatch:
    def __init__(self, runtime: Runtime, *, queue: JobQueue | None = None) -> None:
        self.runtime = runtime
        self.queue = queue
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def mode(self) -> str:
        return "queue" if self.queue is not None else "in-process"

    async def request(
        self,
        account_id: str,
        *,
        full: bool = False,
        since_ms: int | None = None,
        trigger: str = "api",
    ) -> tuple[SyncRun, bool]:
        """The run that will serve this request, and whether it was newly created."""
        async with self.runtime.db.session() as session:
            # Serialises requests for one account across processes (a no-op on SQLite,
            # whose writers are serialised anyway).
            await tenancy.get_account_for_update(session, account_id)
            active = await runs_repo.active_run(session, account_id)
            if active is not None:
                return active, False
            run = await self._queue_run(session, account_id, trigger, full=full, since_ms=since_ms)
        self._start([run])
        return run, True

    async def dispatch_due(self, now: int | None = None) -> list[SyncRun]:
        """Queue a run for every account whose scheduled slot has come; move each account
        to its next slot. A due account that is already syncing is not queued twice."""
        now = self.runtime.clock() if now is None else now
        minute_ms = self.runtime.settings.schedule_minute_ms
        runs: list[SyncRun] = []
        async with self.runtime.db.session() as session:
            await self._reap(session)
            for account in await tenancy.due_accounts(session, now, DUE_BATCH):
                slot = account.next_sync_at
                account.next_sync_at = _following_slot(account, now, minute_ms)
                if await runs_repo.active_run(session, account.id) is not None:
                    continue
                run = await self._queue_run(session, account.id, "schedule", scheduled_for=slot)
                runs.append(run)
        self._start(runs)
        return runs

    async def recover(self) -> int:
        """Start again the queued runs whose process died before running them (at start-up
        of an in-process dispatcher). Runs that have a queue job are left to the workers."""
        async with self.runtime.db.session() as session:
            queued = await runs_repo.queued_runs(session)
            if queued and self.runtime.db.backend == "postgresql":
                from unimeter.sync.scheduling.queue import run_ids_with_jobs

                owned = await run_ids_with_jobs(session)
                queued = [run for run in queued if run.id not in owned]
        self._start(queued)
        return len(queued)

    async def _queue_run(
        self,
        session: AsyncSession,
        account_id: str,
        trigger: str,
        *,
        full: bool = False,
        since_ms: int | None = None,
        scheduled_for: int | None = None,
    ) -> SyncRun:
        run = SyncRun(
            id=new_id("run"),
            account_id=account_id,
            status="queued",
            trigger=trigger,
            full=full,
            since_ms=since_ms,
            scheduled_for=scheduled_for,
        )
        await runs_repo.add_run(session, run)
        if self.queue is not None:
            await self.queue.defer(session, run)
        return run

    async def _reap(self, session: AsyncSession) -> None:
        """Fail runs still marked running whose process is gone (their lease ran out)."""
        lease_ms = int(self.runtime.settings.sync_lease_seconds * 1000)
        for run in await runs_repo.abandoned_runs(session, now_ms(), lease_ms):
            log.warning("sync run %s was abandoned by its process", run.id)
            run.status, run.finished_at, run.error = "failed", now_ms(), INTERRUPTED

    def _start(self, runs: list[SyncRun]) -> None:
        if self.queue is not None:
            return  # the workers pick them up
        for run in runs:
            task = asyncio.create_task(run_queued(self.runtime, run.account_id, run.id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for every run started here (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _following_slot(account: IntegratedAccount, now: int, minute_ms: int) -> int | None:
    if account.sync_frequency_minutes is None:
        return None  # on demand only: the first sync was the last scheduled one
    period = cadence.period_ms(account.sync_frequency_minutes, minute_ms)
    return cadence.next_slot(account.id, period, now)


async def run_queued(runtime: Runtime, account_id: str, run_id: str) -> None:
    """Run a queued run to its end; failures are recorded on the run, not raised."""
    async with runtime.db.reader() as session:
        run = await runs_repo.get_run(session, run_id)
    if run is None:
        return  # the account was deleted meanwhile
    options = SyncOptions(
        full=run.full, since_ms=run.since_ms, trigger=run.trigger, wait_for_lock=True
    )
    try:
        await sync_account(runtime, account_id, options, run_id=run_id)
    except SyncAuthError as exc:
        log.warning("sync run %s of %s stopped: %s", run_id, account_id, exc)
    except Exception as exc:  # recorded on the run row; keep the process serving
        log.warning("sync run %s of %s failed: %s", run_id, account_id, exc)
