"""The sync engine's seam upward (sync/hooks.py): which effects it hands to the hooks, with
what, and that it needs none of them to sync."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.world import world
from unimeter.connectors.cursor.simulator.faults import Fault
from unimeter.db.engine import Database
from unimeter.db.models import IntegratedAccount, UsageEvent, WebhookDelivery
from unimeter.sync.engine.report import SyncAuthError, SyncOptions
from unimeter.sync.hooks import NoSourceError, SyncHooks
from unimeter.sync.service import sync_account
from unimeter.tenancy import repository as tenancy
from unimeter.webhooks.service import create_webhook

STREAMS = SyncOptions(streams=frozenset({"members", "usage_events"}))


class Recorder:
    """Hooks that note each call and pass it on to the ones the composition root set."""

    def __init__(self, real: SyncHooks) -> None:
        self.real = real
        self.calls: list[tuple[str, ...]] = []

    async def publish(
        self, session: AsyncSession, environment_id: str, event_type: str, data: dict[str, Any]
    ) -> None:
        self.calls.append(("publish", environment_id, event_type, data["id"]))
        await self.real.publish(session, environment_id, event_type, data)

    async def credentials_rejected(
        self, session: AsyncSession, account_id: str, error: str
    ) -> None:
        self.calls.append(("credentials_rejected", account_id, error))
        await self.real.credentials_rejected(session, account_id, error)

    async def after_sync(self, account: IntegratedAccount) -> None:
        self.calls.append(("after_sync", account.id))

    def hooks(self) -> SyncHooks:
        return dataclasses.replace(
            self.real,
            publish=self.publish,
            credentials_rejected=self.credentials_rejected,
            after_sync=self.after_sync,
        )


async def test_a_sync_announces_its_run_then_runs_the_after_sync_hook(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        async with w.runtime.db.reader() as session:
            account = await tenancy.get_account(session, account_id)
        assert account is not None
        recorder = Recorder(w.runtime.hooks)
        w.runtime.hooks = recorder.hooks()

        report = await sync_account(w.runtime, account_id, STREAMS)

        assert report.status == "succeeded"
        env = account.environment_id
        assert recorder.calls == [
            ("publish", env, "sync_run:started", report.run_id),
            ("publish", env, "sync_run:completed", report.run_id),
            ("after_sync", account_id),
        ]


async def test_a_rejected_key_goes_to_the_hook_and_nothing_runs_after(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        recorder = Recorder(w.runtime.hooks)
        w.runtime.hooks = recorder.hooks()
        w.sim.faults.forced = Fault.UNAUTHORIZED

        with pytest.raises(SyncAuthError) as raised:
            await sync_account(w.runtime, account_id, STREAMS)

        kinds = [(call[0], call[2]) for call in recorder.calls]
        assert kinds == [
            ("publish", "sync_run:started"),
            ("credentials_rejected", str(raised.value)),
            ("publish", "sync_run:failed"),
        ]
        assert recorder.calls[1][1] == account_id
        # The composition root's hook paused the account.
        async with w.runtime.db.reader() as session:
            account = await tenancy.get_account(session, account_id)
        assert account is not None and account.status == "needs_reauth"


async def test_the_engine_syncs_with_no_hooks_registered(database_url: str, data_dir: Path) -> None:
    """Without the composition root's hooks the records still land, but no event is queued
    for a subscribed webhook; only opening a source needs someone to say how."""
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        async with w.runtime.db.reader() as session:
            account = await tenancy.get_account(session, account_id)
        assert account is not None
        await create_webhook(
            w.runtime, account.environment_id, url="https://hooks.example/sync",
            event_types=["sync_run:started", "sync_run:completed"], is_active=True,
        )  # fmt: skip
        wired = w.runtime.hooks
        w.runtime.hooks = SyncHooks()
        with pytest.raises(NoSourceError, match=r"unimeter\.app"):
            await sync_account(w.runtime, account_id, STREAMS)

        w.runtime.hooks = SyncHooks(open_source=wired.open_source)
        alone = await sync_account(w.runtime, account_id, STREAMS)
        assert alone.status == "succeeded"
        assert await _count(w.runtime.db, UsageEvent) > 0
        assert await _count(w.runtime.db, WebhookDelivery) == 0

        w.runtime.hooks = wired  # the same sync with the real effects queues both events
        await sync_account(w.runtime, account_id, STREAMS)
        assert await _count(w.runtime.db, WebhookDelivery) == 2


async def _count(db: Database, model: type[UsageEvent] | type[WebhookDelivery]) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
