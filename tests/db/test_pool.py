"""PostgreSQL connections a process holds are what the settings say: a fleet of workers is
sized against the server's ``max_connections`` with them (docs/scaling.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.databases import PostgresDatabases
from unimeter.config import Settings
from unimeter.runtime import open_runtime


@pytest.fixture
def pg_url(postgres_databases: PostgresDatabases | None) -> str:
    if postgres_databases is None:
        pytest.skip("needs PostgreSQL: set UNIMETER_TEST_DATABASE_URL (CI sets it)")
    return postgres_databases.create()


async def test_concurrent_sessions_never_open_more_than_the_pool_allows(
    pg_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=pg_url, database_pool_size=2, database_max_overflow=1
    )
    runtime = await open_runtime(settings)
    held: list[int] = []
    gate = asyncio.Event()

    async def reader() -> None:
        async with runtime.db.reader() as session:
            count = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name <> 'psql'"
                )
            )
            held.append(int(count or 0))
            await gate.wait()

    try:
        tasks = [asyncio.create_task(reader()) for _ in range(8)]
        deadline = asyncio.get_running_loop().time() + 30
        while len(held) < 3:  # the pool's three connections are all checked out
            assert asyncio.get_running_loop().time() < deadline, held
            await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*tasks)
    finally:
        await runtime.close()
    assert len(held) == 8, "the other sessions waited for a connection, then ran"
    assert max(held) <= 3, held
