"""Sync an integrated account: the one function every way of running calls."""

from __future__ import annotations

from unimeter.accounts import service as accounts
from unimeter.runtime import Runtime

from .engine import Progress, SyncAuthError, SyncEngine, SyncOptions, SyncReport


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
        raise SyncAuthError(
            f"account {account_id} needs new credentials (the vendor rejected the stored key)"
        )
    async with accounts.open_source(runtime, account) as (_client, source):
        engine = SyncEngine(runtime.db, clock=runtime.clock)
        return await engine.sync(account.id, source, options, run_id=run_id, progress=progress)
