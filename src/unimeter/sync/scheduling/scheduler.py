"""The embedded scheduler: every tick, queue the syncs that are due, in this process.

It is a loop around :meth:`SyncDispatch.dispatch_due`, the same step procrastinate's
periodic task runs on workers; tests drive :meth:`Scheduler.tick` with a fake clock.
"""

from __future__ import annotations

import asyncio
import logging

from unimeter.db.models import SyncRun
from unimeter.sync.scheduling.dispatch import SyncDispatch

log = logging.getLogger("unimeter.scheduler")


class Scheduler:
    def __init__(self, dispatch: SyncDispatch, *, tick_seconds: float) -> None:
        self.dispatch = dispatch
        self.tick_seconds = tick_seconds

    async def tick(self) -> list[SyncRun]:
        return await self.dispatch.dispatch_due()

    async def run_forever(self) -> None:
        recovered = await self.dispatch.recover()
        if recovered:
            log.warning("restarted %d sync runs left queued by a previous process", recovered)
        while True:
            try:
                runs = await self.tick()
            except Exception:  # a database hiccup must not stop scheduling for good
                log.exception("scheduler tick failed; retrying at the next tick")
            else:
                if runs:
                    log.info("queued %d scheduled syncs", len(runs))
            await asyncio.sleep(self.tick_seconds)
