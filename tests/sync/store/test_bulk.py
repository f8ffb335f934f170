"""Bulk writes' transaction settings: they hold for the transaction that asks, no longer."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.support.world import world
from unimeter.sync.store import bulk


async def test_sorting_in_memory_holds_for_the_asking_transaction_only(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        db = w.runtime.db
        async with db.session() as session:
            await bulk.sort_in_memory(session)
            if db.backend == "postgresql":
                asked = await session.scalar(text("SHOW work_mem"))
                assert asked == bulk.SORT_MEMORY
        if db.backend != "postgresql":
            return  # SQLite sorts in its own page cache: nothing to set, nothing failed
        async with db.session() as session:
            after = await session.scalar(text("SHOW work_mem"))
        assert after != bulk.SORT_MEMORY
