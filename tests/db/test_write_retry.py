"""A unit of work that PostgreSQL rolled back to break a deadlock runs again, so the two
transactions it chose between both take effect; other database errors are not retried."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.databases import PostgresDatabases
from unimeter.config import Settings
from unimeter.runtime import Runtime, open_runtime

ADD = text("INSERT INTO keys_taken (k) VALUES (:k) ON CONFLICT DO NOTHING")


@pytest.fixture
async def runtime(
    postgres_databases: PostgresDatabases | None, tmp_path: Path
) -> AsyncIterator[Runtime]:
    if postgres_databases is None:
        pytest.skip("needs PostgreSQL: set UNIMETER_TEST_DATABASE_URL (CI sets it)")
    settings = Settings(data_dir=tmp_path, database_url=postgres_databases.create())
    opened = await open_runtime(settings)
    async with opened.db.session() as session:
        await session.execute(text("CREATE TABLE keys_taken (k integer PRIMARY KEY)"))
    try:
        yield opened
    finally:
        await opened.close()


async def _someone_waits_on_a_lock(runtime: Runtime) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        async with runtime.db.reader() as session:
            waiting = await session.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        if waiting:
            return
        assert asyncio.get_running_loop().time() < deadline, "the second unit never waited"
        await asyncio.sleep(0.01)


async def test_both_sides_of_a_deadlock_take_effect(runtime: Runtime) -> None:
    attempts: Counter[str] = Counter()
    first_holds = asyncio.Event()

    async def first(session: AsyncSession) -> None:
        attempts["first"] += 1
        await session.execute(ADD, {"k": 2})
        first_holds.set()
        if attempts["first"] == 1:
            await _someone_waits_on_a_lock(runtime)  # the second holds 1 and waits for 2
        await session.execute(ADD, {"k": 1})

    async def second(session: AsyncSession) -> None:
        attempts["second"] += 1
        await first_holds.wait()
        await session.execute(ADD, {"k": 1})
        await session.execute(ADD, {"k": 2})

    await asyncio.gather(runtime.db.write(first), runtime.db.write(second))

    assert sum(attempts.values()) == 3, f"the server broke the deadlock once: {attempts}"
    async with runtime.db.reader() as session:
        taken = (await session.scalars(text("SELECT k FROM keys_taken ORDER BY k"))).all()
    assert taken == [1, 2]


async def test_an_error_that_is_not_a_conflict_is_raised_at_once(runtime: Runtime) -> None:
    attempts = 0

    async def twice(session: AsyncSession) -> None:
        nonlocal attempts
        attempts += 1
        for _ in range(2):
            await session.execute(text("INSERT INTO keys_taken (k) VALUES (7)"))

    with pytest.raises(IntegrityError):
        await runtime.db.write(twice)
    assert attempts == 1
