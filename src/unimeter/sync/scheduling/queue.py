"""Scale-out: syncs as procrastinate jobs on PostgreSQL, run by ``unimeter worker``.

- A periodic task (every ``scheduler_tick_seconds``) finds due accounts and defers one
  job per account; procrastinate defers each tick once, however many workers run.
- A job carries ``lock=sync:<account>``: procrastinate never runs two jobs with one lock
  at the same time, on top of the account lock the engine itself takes.
- A worker that stops heartbeating (killed, machine lost) is presumed dead after
  ``stalled_worker_seconds``; the next tick puts its jobs back in the queue, and the
  retried job resumes the same run from the stream watermarks.
- Jobs are deferred on the caller's own connection, so a run row and its job commit
  together or not at all.
"""

from __future__ import annotations

import logging
from typing import Any

import procrastinate
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import SyncRun
from unimeter.runtime import Runtime

log = logging.getLogger("unimeter.worker")

SYNC_TASK = "unimeter.sync_account"
TICK_TASK = "unimeter.schedule_tick"


class QueueUnavailableError(Exception):
    """The job queue needs PostgreSQL."""


def conninfo(runtime: Runtime) -> str:
    url = make_url(runtime.db.urls.sync_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def tick_cron(seconds: int) -> str:
    """A six-field cron (seconds last) firing every ``seconds``."""
    return "* * * * * *" if seconds <= 1 else f"* * * * * */{seconds}"


class JobQueue:
    def __init__(self, runtime: Runtime) -> None:
        if runtime.db.backend != "postgresql":
            raise QueueUnavailableError(
                "workers need PostgreSQL: set UNIMETER_DATABASE_URL (on SQLite, "
                "`unimeter serve` runs the scheduler and the syncs itself)"
            )
        self.runtime = runtime
        size = runtime.settings.queue_pool_size
        connector = procrastinate.PsycopgConnector(
            conninfo=conninfo(runtime), min_size=min(2, size), max_size=size
        )
        self.app = procrastinate.App(connector=connector)
        self._register()

    def _register(self) -> None:
        # Imported here: the tasks call back into the dispatch layer, which imports us.
        from unimeter.sync.scheduling.dispatch import SyncDispatch, run_queued

        runtime = self.runtime

        @self.app.task(name=SYNC_TASK)
        async def sync_account_job(run_id: str, account_id: str) -> None:
            await run_queued(runtime, account_id, run_id)

        @self.app.periodic(
            cron=tick_cron(runtime.settings.scheduler_tick_seconds), periodic_id="schedule"
        )
        @self.app.task(name=TICK_TASK, queueing_lock=TICK_TASK, priority=10)
        async def schedule_tick(timestamp: int) -> None:
            await self.retry_stalled_jobs()
            await SyncDispatch(runtime, queue=self).dispatch_due()

    async def defer(self, session: AsyncSession, run: SyncRun) -> None:
        """Queue ``run`` in the caller's transaction."""
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        deferrer = self.app.configure_task(
            SYNC_TASK, lock=f"sync:{run.account_id}", connection=raw.driver_connection
        )
        await deferrer.defer_async(run_id=run.id, account_id=run.account_id)

    async def retry_stalled_jobs(self) -> int:
        """Put the jobs of workers that stopped heartbeating back in the queue."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=SYNC_TASK,
            seconds_since_heartbeat=self.runtime.settings.stalled_worker_seconds,
        )
        count = 0
        for job in stalled:
            log.warning("retrying job %s of a worker that stopped responding", job.id)
            await manager.retry_job(job)
            count += 1
        return count

    async def run_worker(self, *, concurrency: int, name: str | None = None) -> None:
        settings = self.runtime.settings
        options: dict[str, Any] = {
            "concurrency": concurrency,
            "update_heartbeat_interval": settings.worker_heartbeat_seconds,
            "stalled_worker_timeout": settings.stalled_worker_seconds,
            # Finished jobs are noise: sync runs keep the history that matters.
            "delete_jobs": "successful",
        }
        if name:
            options["name"] = name
        await self.app.run_worker_async(**options)


async def run_ids_with_jobs(session: AsyncSession) -> set[str]:
    """Runs that have a pending or running job (PostgreSQL with the queue schema only)."""
    rows = await session.execute(
        text(
            "SELECT args->>'run_id' FROM procrastinate_jobs "
            "WHERE task_name = :task AND status IN ('todo', 'doing')"
        ),
        {"task": SYNC_TASK},
    )
    return {row[0] for row in rows.all() if row[0]}
