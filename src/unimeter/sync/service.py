"""Sync an integrated account: the one function every way of running calls."""

from __future__ import annotations

import logging

from unimeter.accounts import service as accounts
from unimeter.analytics import anomalies
from unimeter.db.base import now_ms
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import Progress, SyncAuthError, SyncOptions, SyncReport
from unimeter.sync.engine.runner import SyncEngine
from unimeter.sync.store import state_repository

log = logging.getLogger(__name__)


async def sync_account(
    runtime: Runtime,
    account_id: str,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    account = await accounts.get_account(runtime, account_id)
    if account.status == "needs_reauth":
        # No call reaches the vendor until someone supplies working credentials.
        message = f"account {account_id} needs new credentials (the vendor rejected the key)"
        if run_id is not None:
            async with runtime.db.session() as session:
                await state_repository.update_run(
                    session, run_id, status="failed", finished_at=now_ms(), error=message
                )
        raise SyncAuthError(message)
    settings = runtime.settings
    async with accounts.open_source(runtime, account) as source:
        engine = SyncEngine(
            runtime.db,
            clock=runtime.clock,
            lease_ms=int(settings.sync_lease_seconds * 1000),
            heartbeat_seconds=min(10.0, settings.sync_lease_seconds / 4),
        )
        report = await engine.sync(account.id, source, options, run_id=run_id, progress=progress)
    if report.status == "succeeded":
        await _detect_anomalies(runtime, account)
    return report


async def _detect_anomalies(runtime: Runtime, account: IntegratedAccount) -> None:
    """New data may hold anomalies; finding them must never fail the sync that brought it."""
    try:
        await anomalies.detect(runtime, account)
    except Exception:
        log.exception("anomaly detection failed for account %s", account.id)
