"""Sync an integrated account: the one function every way of running calls."""

from __future__ import annotations

import logging

from unimeter.db.base import now_ms
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import Progress, SyncAuthError, SyncOptions, SyncReport
from unimeter.sync.engine.runner import SyncEngine
from unimeter.sync.store import state_repository
from unimeter.tenancy import repository as tenancy
from unimeter.tenancy.errors import AccountNotFoundError

log = logging.getLogger(__name__)


async def sync_account(
    runtime: Runtime,
    account_id: str,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    async with runtime.db.reader() as session:
        account = await tenancy.get_account(session, account_id)
    if account is None:
        raise AccountNotFoundError(account_id)
    if account.status == "needs_reauth":
        # No call reaches the vendor until someone supplies working credentials.
        message = f"account {account_id} needs new credentials (the vendor rejected the key)"
        if run_id is not None:
            async with runtime.db.session() as session:
                await state_repository.update_run(
                    session, run_id, status="failed", finished_at=now_ms(), error=message
                )
        raise SyncAuthError(message)
    settings, hooks = runtime.settings, runtime.hooks
    async with hooks.open_source(account) as source:
        engine = SyncEngine(
            runtime.db,
            clock=runtime.clock,
            lease_ms=int(settings.sync_lease_seconds * 1000),
            heartbeat_seconds=min(10.0, settings.sync_lease_seconds / 4),
            hooks=hooks,
        )
        report = await engine.sync(account.id, source, options, run_id=run_id, progress=progress)
    if report.status == "succeeded":
        await _after_sync(runtime, account)
    return report


async def _after_sync(runtime: Runtime, account: IntegratedAccount) -> None:
    """New data may hold anomalies; finding them must never fail the sync that brought it."""
    try:
        await runtime.hooks.after_sync(account)
    except Exception:
        log.exception("post-sync hooks failed for account %s", account.id)
