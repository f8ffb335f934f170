"""Marking days dirty: a sync's streams write at once, each marking the days it changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from pathlib import Path

import pytest

from tests.support.world import world
from unimeter.sync.store import rollups_repository

FIRST = dt.date(2026, 5, 1)


async def test_streams_marking_overlapping_days_at_once_never_deadlock(
    database_url: str, data_dir: Path
) -> None:
    """On PostgreSQL, two transactions that insert the same keys in different orders wait on
    each other; one is then killed with a deadlock and its stream's batch fails. Every
    transaction here marks a different-sized random subset of one month at the same time
    (in a set's order this failed within four rounds in five runs of five)."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: no two can wait on each other")
    rng = random.Random(15)
    month = [FIRST + dt.timedelta(days=i) for i in range(31)]
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db

        async def stream(days: list[dt.date], barrier: asyncio.Barrier) -> None:
            # SQLite's writer admits one session at a time: meet before, not inside, it.
            await barrier.wait()
            async with db.session() as session:
                await rollups_repository.mark_dirty(session, account_id, days)

        marked: set[dt.date] = set()
        for _ in range(40):
            subsets = [rng.sample(month, rng.randint(8, 31)) for _ in range(6)]
            barrier = asyncio.Barrier(len(subsets))
            await asyncio.gather(*(stream(days, barrier) for days in subsets))
            marked.update(day for days in subsets for day in days)
            async with db.session() as session:
                assert await rollups_repository.dirty_days(session, account_id) == sorted(marked)
                await rollups_repository.clear_dirty(session, account_id, marked)
            marked.clear()
