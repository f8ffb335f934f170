"""A runtime with the harness's connector registered, linking, and a store snapshot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.connectors.conformance.harness import Vendor, VendorHarness
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.contract import Connector, Credentials
from unimeter.db.base import Base
from unimeter.runtime import Runtime

# Run bookkeeping, and columns that record when a row was (re)read rather than what it
# says: two syncs of the same data differ only there.
BOOKKEEPING = frozenset({"sync_runs", "sync_state", "sync_locks", "link_tokens"})
VOLATILE = frozenset({"id", "snapshot_id", "first_seen_at", "last_seen_at", "updated_at",
                      "taken_at", "detected_at", "replaced_at"})  # fmt: skip


@asynccontextmanager
async def runtime_for(
    connector: Connector, database_url: str, data_dir: Path, now_ms: int
) -> AsyncIterator[Runtime]:
    """A runtime whose registry holds ``connector`` (added, or in place of the shipped
    connector of its slug): the only registration a test vendor needs."""
    settings = Settings(data_dir=data_dir, database_url=database_url)
    runtime = await open_runtime(settings, clock=lambda: now_ms)
    runtime.registry.register(connector, replace=True)
    try:
        yield runtime
    finally:
        await runtime.close()


async def link(
    runtime: Runtime, harness: VendorHarness, vendor: Vendor, credentials: Credentials | None = None
) -> str:
    request = LinkRequest(
        integration=harness.slug,
        credentials=dict(credentials or vendor.credentials()),
        base_url=vendor.base_url,
    )
    return (await link_account(runtime, request)).id


async def store_snapshot(
    runtime: Runtime, account_id: str, *, leave_out: frozenset[str] = frozenset()
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the account owns, table by table, without bookkeeping and read times."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    async with runtime.db.reader() as session:
        for table in Base.metadata.sorted_tables:
            if "account_id" not in table.c or table.name in BOOKKEEPING | leave_out:
                continue
            columns = [c for c in table.c if c.name not in VOLATILE]
            result = await session.execute(select(*columns).where(table.c.account_id == account_id))
            snapshot[table.name] = sorted((tuple(row) for row in result.all()), key=repr)
    return snapshot
