"""Lent SQLite read sessions: each reader gets a connection in a snapshot of its own, and
gives it back clean (no transaction, no objects) however the reader ended."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Integer, bindparam, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from unimeter.db import direct
from unimeter.db.engine import Database
from unimeter.db.sqlite_readers import LENT, Lent, Readers


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "t"
    n: Mapped[int] = mapped_column(Integer, primary_key=True)


_COUNT = select(_Row.n).where(_Row.n >= bindparam("least"))


async def _store(tmp_path: Path) -> tuple[Database, Readers]:
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    async with db.session() as session:
        await session.execute(text("CREATE TABLE t (n INTEGER PRIMARY KEY)"))
        await session.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
    assert db.readers is not None
    return db, db.readers


async def _add_row(db: Database, n: int) -> None:
    async with db.session() as writer:
        await writer.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})


def _in_transaction(readers: Readers) -> list[bool]:
    """Whether each idle connection is still in a transaction (none should be)."""
    return [
        lent.inline.sqlite.in_transaction
        for _, session in readers._idle
        for lent in [session.info[LENT]]
        if isinstance(lent, Lent)
    ]


async def test_each_reader_reads_a_snapshot_of_its_own(tmp_path: Path) -> None:
    """A reader keeps its snapshot while a writer commits; the next reader, on the same
    connection, sees the commit."""
    db, readers = await _store(tmp_path)
    try:
        async with db.reader() as session:
            before = await direct.rows(session, _COUNT, {"least": 0})
            await _add_row(db, 4)
            during = (await session.execute(_COUNT, {"least": 0})).all()
        async with db.reader() as session:
            after = await direct.rows(session, _COUNT, {"least": 0})
        assert (len(before), len(during), len(after)) == (3, 3, 4)
        assert len(readers._idle) == 1, "both readers read on one connection"
        assert _in_transaction(readers) == [False]
    finally:
        await db.dispose()


async def test_a_reader_that_loaded_objects_hands_on_none(tmp_path: Path) -> None:
    db, readers = await _store(tmp_path)
    try:
        async with db.reader() as session:
            rows = (await session.execute(select(_Row))).scalars().all()
            assert len(rows) == 3 and len(session.sync_session.identity_map) == 3
        async with db.reader() as session:
            assert len(session.sync_session.identity_map) == 0
            assert not session.in_transaction()
            await direct.rows(session, _COUNT, {"least": 0})
            assert session.in_transaction()
        assert _in_transaction(readers) == [False]
    finally:
        await db.dispose()


async def test_a_failed_or_cancelled_reader_gives_its_connection_back_clean(
    tmp_path: Path,
) -> None:
    db, readers = await _store(tmp_path)
    entered = asyncio.Event()

    async def failing() -> None:
        async with db.reader() as session:
            await direct.rows(session, _COUNT, {"least": 0})
            await session.execute(text("SELECT * FROM missing"))

    async def stuck() -> None:
        async with db.reader() as session:
            await direct.rows(session, _COUNT, {"least": 0})
            entered.set()
            await asyncio.Event().wait()

    try:
        with pytest.raises(OperationalError, match="no such table"):
            await failing()
        task = asyncio.create_task(stuck())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert readers.lent == 0
        assert _in_transaction(readers) == [False]
        await _add_row(db, 4)
        async with db.reader() as session:
            assert len(await direct.rows(session, _COUNT, {"least": 0})) == 4
    finally:
        await db.dispose()


async def test_an_invalidated_connection_is_not_lent_again(tmp_path: Path) -> None:
    db, readers = await _store(tmp_path)
    try:
        async with db.reader() as session:
            await direct.rows(session, _COUNT, {"least": 0})
            await (await session.connection()).invalidate()
        assert readers._idle == [] and readers.lent == 0
        async with db.reader() as session:
            assert len(await direct.rows(session, _COUNT, {"least": 0})) == 3
        assert len(readers._idle) == 1
    finally:
        await db.dispose()


async def test_idle_connections_are_kept_up_to_the_limit_and_closed_at_dispose(
    tmp_path: Path,
) -> None:
    db, readers = await _store(tmp_path)
    gate = asyncio.Event()
    pool = db.read_engine.sync_engine.pool

    async def read() -> int:
        async with db.reader() as session:
            await gate.wait()
            return len(await direct.rows(session, _COUNT, {"least": 2}))

    tasks = [asyncio.create_task(read()) for _ in range(24)]
    deadline = asyncio.get_running_loop().time() + 30
    while readers.lent < 24:
        assert asyncio.get_running_loop().time() < deadline, readers.lent
        await asyncio.sleep(0.01)
    gate.set()
    assert await asyncio.gather(*tasks) == [2] * 24
    assert readers.lent == 0
    assert len(readers._idle) == 16
    assert pool.checkedout() == 16  # type: ignore[attr-defined]
    await db.dispose()
    assert readers._idle == [] and pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_reader_lent_across_dispose_closes_its_connection(tmp_path: Path) -> None:
    db, readers = await _store(tmp_path)
    async with db.reader() as session:
        inline = (await direct._reader_of(session))[0]
        assert inline is not None
        await db.dispose()
        assert inline.sqlite.in_transaction, "a lent reader reads on while the store closes"
    assert readers._idle == [] and readers.lent == 0
    with pytest.raises(ValueError, match="closed"):
        inline.sqlite  # noqa: B018


async def test_a_session_used_after_it_was_handed_back_lends_no_snapshot(
    tmp_path: Path,
) -> None:
    """A task that outlives its reader and reads on: the next reader still begins a
    snapshot of its own."""
    db, _ = await _store(tmp_path)
    try:
        async with db.reader() as session:
            kept = session
        await kept.execute(_COUNT, {"least": 0})  # after the block: the ORM begins anew
        await _add_row(db, 4)
        async with db.reader() as session:
            assert len(await direct.rows(session, _COUNT, {"least": 0})) == 4
    finally:
        await db.dispose()
