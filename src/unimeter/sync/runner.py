"""Syncs requested through the API, run in this process in the background.

A request coalesces with a run of the same account that is already queued or running, so
a burst of refresh clicks costs Cursor one sync.
"""

from __future__ import annotations

import asyncio
import logging

from unimeter.accounts import repository as accounts_repo
from unimeter.db.base import new_id
from unimeter.db.models import SyncRun
from unimeter.runtime import Runtime

from . import state_repository
from .engine import SyncOptions
from .service import sync_account

log = logging.getLogger("unimeter.sync")


class SyncRunner:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()

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
            await accounts_repo.get_account_for_update(session, account_id)
            active = await state_repository.active_run(session, account_id)
            if active is not None:
                return active, False
            run = SyncRun(
                id=new_id("run"),
                account_id=account_id,
                status="queued",
                trigger=trigger,
                full=full,
                since_ms=since_ms,
            )
            await state_repository.add_run(session, run)
        options = SyncOptions(full=full, since_ms=since_ms, trigger=trigger, wait_for_lock=True)
        task = asyncio.create_task(self._run(account_id, run.id, options))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run, True

    async def _run(self, account_id: str, run_id: str, options: SyncOptions) -> None:
        try:
            await sync_account(self.runtime, account_id, options, run_id=run_id)
        except Exception as exc:  # the run row records the failure; keep the server alive
            log.warning("sync run %s of %s failed: %s", run_id, account_id, exc)

    async def wait_idle(self) -> None:
        """Wait for every run started here (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
