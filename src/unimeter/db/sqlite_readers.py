"""Read sessions of a SQLite store, each on a connection kept checked out of the pool.

Every API request reads in a session of its own, and its statements cost less than the
session around them: a pooled session checked its connection out (the pool's fairy, a
``Connection``, the ``begin`` event), then rolled back, checked it in and rolled it back
again (the pool's reset), and both ends crossed into a greenlet: ~0.1 ms a request, more
than the statements that check the token and read a page of members.

:class:`Readers` keeps each inline connection (db/sqlite_inline.py) checked out, with a
session bound to it, and lends the pair to one reader at a time. A lent session begins its
snapshot in SQLite itself on its first read (``BEGIN``) and ends it there when the reader
closes (``ROLLBACK``). A statement the session runs through the ORM joins that snapshot:
the engine's ``begin`` hook emits no second ``BEGIN`` on a connection already in one, so a
reader's direct rows and ORM rows see the same data (tests/db/test_direct.py). The session
ends its snapshot on ``rollback`` and ``commit`` as any session does, and its next read
begins a new one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from .sqlite_inline import InlineConnection

LENT = "unimeter.sqlite.lent"
log = logging.getLogger(__name__)


class Lent:
    """What a lent session reads on: its inline connection and the engine's dialect."""

    __slots__ = ("dialect", "inline")

    def __init__(self, inline: InlineConnection, dialect: Any) -> None:
        self.inline = inline
        self.dialect = dialect

    def begun(self) -> InlineConnection:
        """The connection, in a transaction (begun here unless one is open)."""
        sqlite = self.inline.sqlite
        if not sqlite.in_transaction:
            sqlite.execute("BEGIN")
        return self.inline

    def end(self) -> None:
        sqlite = self.inline.sqlite
        if sqlite.in_transaction:
            sqlite.rollback()


class _LentSession(AsyncSession):
    """A session whose transaction may have begun in SQLite rather than in the session:
    ending the session's transaction ends SQLite's too, and either counts as one."""

    def _lent(self) -> Lent:
        lent: Lent = self.info[LENT]
        return lent

    async def rollback(self) -> None:
        await super().rollback()
        self._lent().end()

    async def commit(self) -> None:
        await super().commit()
        self._lent().end()

    def in_transaction(self) -> bool:
        return super().in_transaction() or self._lent().inline.sqlite.in_transaction


class Readers:
    """Lends read sessions of ``engine`` (an engine of inline connections), one reader at a
    time each; keeps at most ``keep`` idle, and returns the others to the pool."""

    def __init__(self, engine: AsyncEngine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[tuple[AsyncConnection, _LentSession]] = []
        self.lent = 0  # sessions lent out now
        self.lends = 0  # sessions lent, over the process's life
        self._closed = False

    async def _take(self) -> tuple[AsyncConnection, _LentSession]:
        if self._idle:
            connection, session = self._idle.pop()
            if session.sync_session.get_transaction() is not None or (
                session._lent().inline.sqlite.in_transaction
            ):
                # Used after it was handed back (a task that outlived its reader): its
                # snapshot must not become the next reader's.
                log.warning("a read session was used after it was closed")
                await session.close()
                session._lent().end()
            return connection, session
        connection = await self._engine.connect()
        raw = await connection.get_raw_connection()
        inline = raw.driver_connection
        if not isinstance(inline, InlineConnection):
            await connection.close()
            raise TypeError("lent readers need an engine of inline connections")
        session = _LentSession(bind=connection, expire_on_commit=False)
        session.info[LENT] = Lent(inline, connection.dialect)
        return connection, session

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        connection, session = await self._take()
        self.lent += 1
        self.lends += 1
        try:
            yield session
        finally:
            self.lent -= 1
            await self._give_back(connection, session)

    async def _give_back(self, connection: AsyncConnection, session: _LentSession) -> None:
        sync = session.sync_session
        try:
            if sync.get_transaction() is not None or sync.identity_map:
                # The ORM took part: its transaction is rolled back and its objects let go.
                await session.close()
            if not connection.invalidated:
                session._lent().end()
        except BaseException:
            await connection.close()  # the pool's reset rolls back whatever is left
            raise
        if self._closed and not connection.invalidated:
            # The engine's pool was disposed meanwhile: it would keep this one until the
            # garbage collector found it.
            await connection.invalidate()
        if connection.closed or connection.invalidated or len(self._idle) >= self._keep:
            await connection.close()
            return
        self._idle.append((connection, session))

    async def close(self) -> None:
        """Return the idle connections to the pool (before the engine is disposed), and
        close those lent now as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close()
