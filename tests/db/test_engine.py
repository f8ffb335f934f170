"""The embedded SQLite store: owner-only files, like the key file; and a reader can never
take the write lock behind the in-process writer queue (which would leave queued writers to
fail "database is locked")."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.config import Settings
from unimeter.db.engine import STORE_PAGE_SIZE, Database
from unimeter.db.migrate import upgrade
from unimeter.db.models import Environment
from unimeter.db.sqlite_bulk import BULK_AUTOCHECKPOINT_BYTES, BULK_CACHE_KIB, prepare_bulk_unit
from unimeter.runtime import open_runtime
from unimeter.tenancy import repository as tenancy

STORE = "unimeter.db"
SQLITE_DEFAULT_PAGE_SIZE = 4096


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


def _page_size(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        (size,) = connection.execute("PRAGMA page_size").fetchone()
    finally:
        connection.close()
    return int(size)


async def test_a_new_store_gets_the_stores_page_size(tmp_path: Path) -> None:
    assert STORE_PAGE_SIZE != SQLITE_DEFAULT_PAGE_SIZE  # else this test proves nothing
    runtime = await open_runtime(Settings(data_dir=tmp_path, database_url=None))
    try:
        async with runtime.db.session() as session:
            await tenancy.bump_data_version(session, "acc_x")
    finally:
        await runtime.close()
    assert _page_size(tmp_path / STORE) == STORE_PAGE_SIZE


async def test_an_existing_store_keeps_its_page_size_and_its_data(tmp_path: Path) -> None:
    """A store made before pages grew is opened, migrated and written as it is: a page size
    changes only by rewriting the whole file (VACUUM), which opening never does."""
    path = tmp_path / STORE
    old = sqlite3.connect(path, isolation_level=None)
    old.execute(f"PRAGMA page_size={SQLITE_DEFAULT_PAGE_SIZE}")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE kept (x INTEGER)")
    old.execute("INSERT INTO kept VALUES (42)")
    old.close()

    runtime = await open_runtime(Settings(data_dir=tmp_path, database_url=None))
    try:
        async with runtime.db.session() as session:
            await tenancy.bump_data_version(session, "acc_x")
        async with runtime.db.reader() as session:
            kept = await session.scalar(text("SELECT x FROM kept"))
    finally:
        await runtime.close()
    assert kept == 42
    assert _page_size(path) == SQLITE_DEFAULT_PAGE_SIZE


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


async def _pragmas(db: Database) -> tuple[int, int, int]:
    """A writer unit's cache size and autocheckpoint, and its driver connection's identity."""
    async with db.session() as session:
        raw = await (await session.connection()).get_raw_connection()
        return *await _pragmas_in(session), id(raw.dbapi_connection)


async def test_a_bulk_unit_gets_a_wide_cache_and_the_pooled_writer_gives_it_back(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        cache, autocheckpoint, first = await _pragmas(db)
        assert (cache, autocheckpoint) == (-2000, 1000)  # SQLite's defaults, for most units
        async with db.session() as session:
            await prepare_bulk_unit(await session.connection())
            widened = await _pragmas_in(session)
        # Rarely checkpoints: past the same bytes of WAL whatever the store's page size.
        assert widened == (-BULK_CACHE_KIB, BULK_AUTOCHECKPOINT_BYTES // STORE_PAGE_SIZE)
        cache, autocheckpoint, again = await _pragmas(db)
        assert again == first  # the same pooled connection, handed back with the defaults
        assert (cache, autocheckpoint) == (-2000, 1000)
    finally:
        await db.dispose()


async def _pragmas_in(session: AsyncSession) -> tuple[int, int]:
    """The cache size and autocheckpoint of the unit of work ``session`` is in."""
    cache = (await session.execute(text("PRAGMA cache_size"))).scalar_one()
    autocheckpoint = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
    return int(cache), int(autocheckpoint)


async def test_after_a_bulk_unit_its_wal_is_checkpointed_off_the_writers_path(
    tmp_path: Path,
) -> None:
    path = tmp_path / STORE
    upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite:///{path}")
    try:
        async with db.session() as session:
            await prepare_bulk_unit(await session.connection())
            await session.execute(text("CREATE TABLE filler (n INTEGER PRIMARY KEY, pad TEXT)"))
            await session.execute(
                text("INSERT INTO filler (pad) VALUES (:pad)"),
                [{"pad": "x" * 2000} for _ in range(3000)],  # some 1,500 pages
            )
        deadline = time.monotonic() + 30
        while db.checkpoints_completed == 0:
            assert time.monotonic() < deadline, "no checkpoint ran after the bulk unit"
            await asyncio.sleep(0.01)
    finally:
        await db.dispose()
