"""SQLite readers run their statements on the caller's thread (no aiosqlite thread), and
still behave as readers: the same rows, errors raised to the caller, no writes."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from unimeter.db.engine import Database
from unimeter.db.sqlite_inline import InlineConnection


async def _store(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER)"))
        await session.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
    return db


async def test_reader_statements_run_on_the_calling_thread(tmp_path: Path) -> None:
    db = await _store(tmp_path)
    threads: list[int] = []
    try:
        async with db.reader() as session:
            connection = await session.connection()
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)

            def where_am_i() -> int:
                """Called by SQLite while it runs the statement: reports its thread."""
                threads.append(threading.get_ident())
                return 1

            raw.driver_connection._conn.create_function("where_am_i", 0, where_am_i)
            total = (await session.execute(text("SELECT sum(n * where_am_i()) FROM t"))).scalar()
        assert total == 6
        assert set(threads) == {threading.get_ident()}
        # Writers and scans (exports) keep aiosqlite's thread: they may run for seconds.
        for threaded in (db.session, db.scanner):
            async with threaded() as session:
                connection = await session.connection()
                raw = await connection.get_raw_connection()
                assert not isinstance(raw.driver_connection, InlineConnection)
    finally:
        await db.dispose()


async def test_reader_errors_reach_the_caller_and_the_connection_stays_usable(
    tmp_path: Path,
) -> None:
    db = await _store(tmp_path)
    try:
        async with db.reader() as session:
            with pytest.raises(OperationalError, match="no such table"):
                await session.execute(text("SELECT * FROM missing"))
        async with db.reader() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(text("INSERT INTO t VALUES (4)"))
        async with db.reader() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 3
    finally:
        await db.dispose()


async def test_readers_see_what_writers_commit_and_close_cleanly(tmp_path: Path) -> None:
    db = await _store(tmp_path)
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 3
    async with db.session() as session:
        await session.execute(text("INSERT INTO t VALUES (4)"))
    async with db.reader() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 4
    async with db.reader() as session:
        raw = await (await session.connection()).get_raw_connection()
        kept = raw.driver_connection
    assert isinstance(kept, InlineConnection)
    await db.dispose()
    # Disposed: the pool closed its inline connections, which then refuse calls.
    with pytest.raises(ValueError, match="no active connection"):
        kept._conn  # noqa: B018


async def test_concurrent_reads_reuse_one_connection(tmp_path: Path) -> None:
    """A reader returns its connection as it closes, without a turn of the event loop in
    between: 32 requests reading at once used to hold 32 connections, and past the pool's
    size each one opened a new connection (file, pragmas, map) and closed it again."""
    db = await _store(tmp_path)
    opened: list[object] = []

    def count(dbapi_connection: object, _record: object) -> None:
        opened.append(dbapi_connection)

    event.listen(db.read_engine.sync_engine, "connect", count)

    async def read() -> int:
        async with db.reader() as session:
            return int((await session.execute(text("SELECT count(*) FROM t"))).scalar_one())

    try:
        assert await asyncio.gather(*(read() for _ in range(32))) == [3] * 32
        assert len(opened) == 1
        assert db.readers is not None and db.readers.lent == 0
    finally:
        await db.dispose()
