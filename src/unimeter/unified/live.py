"""``mode=live``: read from the vendor now, store nothing.

The range is synced into a throw-away SQLite store with the ordinary engine, then queried
exactly like the real store, so live and stored answers come from the same mapping and
the same SQL. The throw-away store is deleted when the request ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import create_engine

from unimeter.accounts import service as accounts
from unimeter.db.base import Base
from unimeter.db.engine import Database
from unimeter.db.models import Environment, IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.engine.runner import SyncEngine

LIVE_MAX_DAYS = 30


def _create_schema(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(engine)
    finally:
        engine.dispose()


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


@asynccontextmanager
async def live_store(
    runtime: Runtime,
    account: IntegratedAccount,
    streams: frozenset[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> AsyncIterator[Database]:
    """A temporary store holding the account's ``streams`` for ``[start, end)``, read now."""
    with tempfile.TemporaryDirectory(prefix="unimeter-live-") as tmp:
        path = Path(tmp) / "live.db"
        await asyncio.to_thread(_create_schema, path)
        db = Database(f"sqlite:///{path}")
        try:
            async with db.session() as session:
                session.add(Environment(id=account.environment_id, name="live"))
                await session.flush()
                session.add(
                    IntegratedAccount(
                        id=account.id,
                        environment_id=account.environment_id,
                        integration=account.integration,
                        tenant_id=account.tenant_id,
                        name=account.name,
                        status=account.status,
                        base_url=account.base_url,
                        credentials="-",
                        settings={},
                        last_synced_at=runtime.clock(),
                    )
                )
            options = SyncOptions(
                streams=streams,
                since_ms=_ms(start) if start else None,
                until_ms=_ms(end) - 1 if end else None,
                trigger="live",
            )
            async with accounts.open_source(runtime, account) as source:
                await SyncEngine(db, clock=runtime.clock).sync(account.id, source, options)
            yield db
        finally:
            await db.dispose()
