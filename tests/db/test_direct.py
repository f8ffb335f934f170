"""``direct.rows`` answers as the session would, in the session's transaction: the same
rows with the same types, expanding lists of any length, bound defaults, and the session's
view while a writer commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    literal,
    select,
    tuple_,
)

from unimeter.db import direct
from unimeter.db.engine import Database

_meta = MetaData()
_T = Table(
    "direct_probe", _meta, Column("n", Integer, primary_key=True), Column("day", Date),
    Column("name", String(40)), Column("flag", Boolean),
)  # fmt: skip
ROWS = [(n, dt.date(2026, 5, 1 + n % 3), f"user{n}", n % 2 == 0) for n in range(1, 31)]
_BY_NAMES = (
    select(_T.c.n, _T.c.day, _T.c.flag, _T.c.name, literal("x").label("tag"))
    .where(_T.c.name.in_(bindparam("names", expanding=True)), _T.c.day >= bindparam("since"))
    .order_by(_T.c.n)
)


async def _store(database_url: str) -> Database:
    db = Database(database_url)
    async with db.session() as session:
        await session.run_sync(lambda s: _meta.create_all(s.connection()))
        keys = ("n", "day", "name", "flag")
        await session.execute(_T.insert(), [dict(zip(keys, r, strict=True)) for r in ROWS])
    return db


async def _drop(db: Database) -> None:
    async with db.session() as session:
        await session.run_sync(lambda s: _meta.drop_all(s.connection()))
    await db.dispose()


async def test_direct_rows_match_the_sessions(database_url: str) -> None:
    db = await _store(database_url)
    try:
        since = dt.date(2026, 5, 2)
        for names in (["user3", "user4", "user5", "nobody"], [f"user{n}" for n in range(30)], []):
            params = {"names": names, "since": since}
            async with db.reader() as session:
                typed = (await session.execute(_BY_NAMES, params)).all()
                got = await direct.rows(session, _BY_NAMES, params)
            assert [tuple(row) for row in got] == [tuple(row) for row in typed]
            assert [tuple(map(type, row)) for row in got] == [tuple(map(type, r)) for r in typed]
            assert all(row.tag == "x" and isinstance(row.day, dt.date) for row in got)
            assert len(got) == len([r for r in ROWS if r[2] in names and r[1] >= since])
    finally:
        await _drop(db)


_COUNT = select(_T.c.n).where(_T.c.day >= bindparam("since"))
_SINCE = {"since": dt.date(2026, 1, 1)}


async def _commit_a_row(db: Database) -> None:
    """A writer's row, committed (the probe's count grows by one)."""
    async with db.session() as writer:
        await writer.execute(_T.insert(), {"n": 99, "day": dt.date(2026, 6, 1), "name": "z"})


async def test_direct_rows_read_in_the_sessions_transaction(database_url: str) -> None:
    """A row a writer commits while the reader's transaction is open: the direct rows see it
    exactly when the session's own reads do (on SQLite, whose readers keep their snapshot,
    neither does)."""
    db = await _store(database_url)
    try:
        async with db.reader() as session:
            before = await direct.rows(session, _COUNT, _SINCE)
            await _commit_a_row(db)
            during = await direct.rows(session, _COUNT, _SINCE)
            seen_by_session = (await session.execute(_COUNT, _SINCE)).all()
        async with db.reader() as session:
            after = await direct.rows(session, _COUNT, _SINCE)
        assert len(before) == len(ROWS)
        assert len(during) == len(seen_by_session)
        if db.backend == "sqlite":
            assert len(during) == len(ROWS)
        assert len(after) == len(ROWS) + 1
    finally:
        await _drop(db)


async def test_a_new_transaction_of_the_same_session_reads_anew(database_url: str) -> None:
    """Direct reads keep the session's connection for as long as its transaction lasts:
    once that ends, the next read is in the session's next transaction, which sees what a
    writer committed meanwhile."""
    db = await _store(database_url)
    try:
        async with db.reader() as session:
            before = await direct.rows(session, _COUNT, _SINCE)
            await _commit_a_row(db)
            await session.rollback()
            after = await direct.rows(session, _COUNT, _SINCE)
            assert session.in_transaction(), "the read began the session's next transaction"
            seen_by_session = (await session.execute(_COUNT, _SINCE)).all()
        assert len(before) == len(ROWS)
        assert len(after) == len(seen_by_session) == len(ROWS) + 1
    finally:
        await _drop(db)


async def test_statements_it_does_not_handle_take_the_sessions_path(database_url: str) -> None:
    """A list of tuples, and an empty list: the same rows all the same."""
    db = await _store(database_url)
    pairs = select(_T.c.n).where(
        tuple_(_T.c.day, _T.c.name).in_(bindparam("pairs", expanding=True))
    )
    try:
        async with db.reader() as session:
            got = await direct.rows(
                session,
                pairs,
                {"pairs": [(dt.date(2026, 5, 2), "user1"), (dt.date(2026, 5, 1), "user1")]},
            )
            assert [row.n for row in got] == [1]
            empty = await direct.rows(
                session, _BY_NAMES, {"names": [], "since": dt.date(2026, 1, 1)}
            )
            assert list(empty) == []
    finally:
        await _drop(db)
