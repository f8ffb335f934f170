"""The embedded SQLite store: owner-only files, like the key file; and a reader can never
take the write lock behind the in-process writer queue (which would leave queued writers to
fail "database is locked")."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from unimeter.config import Settings
from unimeter.db.engine import BULK_CACHE_KIB, Database, widen_cache_for_bulk
from unimeter.db.migrate import upgrade
from unimeter.db.models import Environment
from unimeter.runtime import open_runtime
from unimeter.tenancy import repository as tenancy

STORE = "unimeter.db"


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022 umask, under which SQLite alone creates world-readable files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(directory: Path) -> dict[str, int]:
    return {
        p.name: stat.S_IMODE(p.stat().st_mode)
        for p in directory.iterdir()
        if p.name.startswith(STORE)
    }


@pytest.mark.usefixtures("usual_umask")
async def test_a_new_store_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    runtime = await open_runtime(Settings(data_dir=tmp_path, database_url=None))
    try:
        async with runtime.db.session() as session:
            await session.execute(text("SELECT 1"))
        modes = _modes(tmp_path)
    finally:
        await runtime.close()
    assert set(modes) >= {STORE, f"{STORE}-wal", f"{STORE}-shm"}, modes
    assert all(mode == 0o600 for mode in modes.values()), {k: oct(v) for k, v in modes.items()}


@pytest.mark.usefixtures("usual_umask")
async def test_an_existing_world_readable_store_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / STORE
    url = f"sqlite:///{path}"
    upgrade(url)
    for name in (STORE, f"{STORE}-wal", f"{STORE}-shm"):
        (tmp_path / name).touch()
        (tmp_path / name).chmod(0o644)

    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(text("SELECT 1"))
        modes = _modes(tmp_path)
    finally:
        await db.dispose()
    assert modes == {STORE: 0o600, f"{STORE}-wal": 0o600, f"{STORE}-shm": 0o600}, modes


async def test_a_write_in_a_reader_fails_at_once_and_leaves_writers_free(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        async with db.session() as session:
            await tenancy.ensure_environment(session, "default")
        async with db.reader() as reader:
            with pytest.raises(OperationalError, match="readonly"):
                await reader.execute(text("UPDATE environments SET name = 'renamed'"))
            # The reader's transaction holds no write lock: a writer commits meanwhile.
            async with db.session() as session:
                await tenancy.ensure_environment(session, "other")
        async with db.reader() as reader:
            names = set(await reader.scalars(select(Environment.name)))
        assert names == {"default", "other"}
    finally:
        await db.dispose()


async def _cache_size(db: Database) -> tuple[int, int]:
    """The writer connection's cache size, and an identity of the driver connection."""
    async with db.session() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        return int((await session.execute(text("PRAGMA cache_size"))).scalar_one()), id(
            raw.dbapi_connection
        )


async def test_a_bulk_unit_gets_a_wide_cache_and_the_pooled_writer_gives_it_back(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        before, first = await _cache_size(db)
        async with db.session() as session:
            await widen_cache_for_bulk(await session.connection())
            widened = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
        after, again = await _cache_size(db)
        assert again == first  # the same pooled connection, handed back
        assert widened == -BULK_CACHE_KIB
        assert before == after == -2000  # SQLite's default, for every unit that is not bulk
    finally:
        await db.dispose()
