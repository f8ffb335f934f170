"""Engines and sessions for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite gets WAL, a busy timeout, and two engines: writers open their transaction with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing with
"database is locked" on a read-to-write upgrade, while readers keep plain deferred
transactions and are never blocked by a running sync.

The SQLite file is readable by its owner only (0600, like ``secret.key``): it holds
everyone's usage and the encrypted credentials. SQLite gives its ``-wal``, ``-shm`` and
``-journal`` files the main file's mode, so creating that one 0600 covers them.

Every SQLite writer of a process queues on one asyncio lock, so ``BEGIN IMMEDIATE`` only
ever waits for writers outside that queue. A reader session that wrote would be one: its
deferred transaction would take SQLite's write lock behind the queue's back and keep it
until the session closed, and every queued writer would wait in the busy handler, then
fail with "database is locked". Reader connections are therefore ``query_only``: such a
write fails at once, in the reader that made it (and it would have been rolled back
anyway, as readers never commit).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sqlite3
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .sqlite_bulk import Checkpointer, return_bulk_units
from .sqlite_inline import InlineConnection, inline_creator
from .sqlite_readers import Readers

Backend = Literal["sqlite", "postgresql"]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseURLs:
    async_url: str
    sync_url: str
    backend: Backend


def resolve_urls(url: str) -> DatabaseURLs:
    """Async and sync driver URLs for a user-supplied database URL."""
    parsed = make_url(url)
    family = parsed.get_backend_name()
    if family == "sqlite":
        return DatabaseURLs(
            async_url=_render(parsed.set(drivername="sqlite+aiosqlite")),
            sync_url=_render(parsed.set(drivername="sqlite")),
            backend="sqlite",
        )
    if family in ("postgresql", "postgres"):
        driver = _render(parsed.set(drivername="postgresql+psycopg"))
        return DatabaseURLs(async_url=driver, sync_url=driver, backend="postgresql")
    raise ValueError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite or postgresql"
    )


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database)


STORE_FILE_MODE = 0o600
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def secure_sqlite_file(path: Path) -> None:
    """Create the store file 0600 before SQLite does (it would use 0644 under the usual
    umask), and take group and other access away from an existing store and its sidecars."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, STORE_FILE_MODE))
    if path.stat().st_size == 0:
        start_store_file(path)
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SIDECAR_SUFFIXES)):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & 0o700)
        except (FileNotFoundError, PermissionError):
            continue  # no such sidecar, or another user's file that is not ours to change


# A page holds about 20 usage events (some 800 bytes each) instead of 5: a backfill's
# inserts walk and split fewer pages (measured: a quarter less insert time for the same
# events and indexes, bench/page_size.py), and an index's pages are fewer by as much.
STORE_PAGE_SIZE = 16_384


def start_store_file(path: Path, page_size: int = STORE_PAGE_SIZE) -> None:
    """Give a new, empty store file its page size: only possible before its first page is
    written, which switching it to WAL does (a store never leaves WAL)."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute(f"PRAGMA page_size={int(page_size)}")
        connection.execute("PRAGMA journal_mode=WAL").fetchall()
    finally:
        connection.close()


# Readers map the file instead of copying each page they visit into a private cache of
# 2 MB (SQLite's default): the API's scans of a large store then cost no read() calls, and
# every reader connection shares the same pages (the OS's) instead of warming its own.
_READERS_KEPT = 16
_READER_PRAGMAS = (f"PRAGMA mmap_size={1 << 30}", "PRAGMA cache_size=-16384")


def _sqlite_engine(
    url: str, *, immediate: bool, busy_timeout_ms: int, inline: bool = False
) -> AsyncEngine:
    options: dict[str, Any] = {}
    if inline:
        # Readers run inline (db/sqlite_inline.py); a connection is opened (file, pragmas,
        # map) once and kept: the pool holds as many as requests read at once.
        path = make_url(url).database or ":memory:"
        options = {
            "async_creator": inline_creator(path),
            "pool_size": _READERS_KEPT,
            "max_overflow": _READERS_KEPT,
        }
    engine = create_async_engine(
        url, json_serializer=_json_serializer, json_deserializer=orjson.loads, **options
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
            "PRAGMA foreign_keys=ON",
            *(() if immediate else _READER_PRAGMAS),
            # Last: the pragmas above must still be able to switch the file to WAL.
            *(() if immediate else ("PRAGMA query_only=ON",)),
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # On the driver's cursor: through exec_driver_sql, SQLAlchemy's execution context
        # cost more than the BEGIN (every API request begins a read transaction). An inline
        # reader's is SQLite's own connection, without the adapter's cursor around it; a
        # lent reader's (db/sqlite_readers.py) may have begun its snapshot there already,
        # which the session's statements then join.
        driver = connection.connection.driver_connection
        if isinstance(driver, InlineConnection):
            if not driver.sqlite.in_transaction:
                driver.sqlite.execute("BEGIN")
            return
        cursor = connection.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        finally:
            cursor.close()

    return engine


T = TypeVar("T")

# The keys a unit of work marked as changed (:func:`mark_changed`), in its session's info.
_CHANGED = "unimeter.changed"


def mark_changed(session: AsyncSession, key: str) -> None:
    """Tell this process's commit hooks (:meth:`Database.on_commit`) that ``key`` changed,
    once the session's unit of work has committed."""
    session.info.setdefault(_CHANGED, set()).add(key)


_WRITE_ATTEMPTS = 5
# SQLSTATEs of a transaction the server rolled back because of another one.
_CONFLICT_STATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def _lost_a_conflict(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _CONFLICT_STATES


async def _settle(step: Awaitable[T]) -> T:
    """Run ``step`` to completion even when the task is cancelled meanwhile, then re-raise
    the cancellation.

    A cancellation that lands inside a SQLite statement or a commit makes the pool drop the
    connection mid-transaction, and a connection dropped that way may stay open, holding
    the file's write lock, until it is garbage collected: every later writer then fails with
    "database is locked" after its busy timeout. A sync cancels its other streams when one
    fails, and a run's heartbeat is cancelled when the run ends, so units of work are
    settled rather than cut.
    """
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


class Database:
    """The async engines of one store, and the unit-of-work sessions on top of them."""

    def __init__(
        self, url: str, *, busy_timeout_ms: int = 60_000, pool_size: int = 10,
        max_overflow: int = 10,
    ) -> None:  # fmt: skip
        self.urls = resolve_urls(url)
        if self.urls.backend == "sqlite":
            path = sqlite_path(self.urls.sync_url)
            if path is not None:
                secure_sqlite_file(path)
            url = self.urls.async_url
            self.read_engine = _sqlite_engine(
                url, immediate=False, busy_timeout_ms=busy_timeout_ms, inline=True
            )
            self.scan_engine = _sqlite_engine(url, immediate=False, busy_timeout_ms=busy_timeout_ms)
            self.write_engine = _sqlite_engine(url, immediate=True, busy_timeout_ms=busy_timeout_ms)
            self.readers: Readers | None = Readers(self.read_engine, keep=_READERS_KEPT)
            self._checkpointer: Checkpointer | None = Checkpointer(path) if path else None
            return_bulk_units(self.write_engine, self._checkpointer)
        else:
            self._checkpointer = None
            engine = create_async_engine(
                self.urls.async_url,
                json_serializer=_json_serializer,
                json_deserializer=orjson.loads,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_pre_ping=True,
            )
            self.read_engine = self.write_engine = self.scan_engine = engine
            self.readers = None
        self._readers = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._scanners = async_sessionmaker(self.scan_engine, expire_on_commit=False)
        self._writers = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._commit_hooks: list[Callable[[frozenset[str]], None]] = []
        # SQLite has one writer at a time. Queueing writers of this process here hands the
        # lock over at once; left to SQLite's busy handler, waiters sleep up to 100 ms.
        self._write_lock: asyncio.Lock | None = None

    @property
    def backend(self) -> Backend:
        return self.urls.backend

    @property
    def checkpoints_completed(self) -> int:
        """Background WAL checkpoints run after bulk units (SQLite files only)."""
        return self._checkpointer.completed if self._checkpointer is not None else 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that writes: commits on success, rolls back on error."""
        if self.backend != "sqlite":
            async with self._unit_of_work() as session:
                yield session
            return
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock, self._unit_of_work() as session:
            yield session

    def on_commit(self, hook: Callable[[frozenset[str]], None]) -> None:
        """Call ``hook`` with the keys a unit of work marked changed, after it commits (in
        this process: another process's commits are not seen here)."""
        self._commit_hooks.append(hook)

    def _announce(self, session: AsyncSession) -> None:
        changed = session.info.pop(_CHANGED, None)
        if not changed:
            return
        keys = frozenset(changed)
        for hook in self._commit_hooks:
            try:
                hook(keys)
            except Exception:
                # Committed is committed: a hook's failure must not make the unit look
                # failed to its caller (who might write it again).
                log.exception("a commit hook failed")

    @asynccontextmanager
    async def _unit_of_work(self) -> AsyncIterator[AsyncSession]:
        session = self._writers()
        try:
            yield session
            await _settle(session.commit())
            self._announce(session)
        except BaseException:
            await _settle(session.rollback())
            raise
        finally:
            # Returning the connection to the pool rolls back whatever is still open on it.
            await _settle(session.close())

    async def write(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work`` in one unit of work that a cancellation cannot cut in half: it takes
        effect once the unit has committed (or rolled back). For tasks that get cancelled.

        On PostgreSQL a unit that the server rolled back to break a deadlock (or a
        serialization conflict) is run again: the streams of one sync write at once, and
        the server kills one of two such transactions only so that the other can go on.
        ``work`` must therefore do nothing outside its session that a second run would
        repeat."""

        async def unit() -> T:
            async with self.session() as session:
                return await work(session)

        for attempt in range(1, _WRITE_ATTEMPTS):
            try:
                return await _settle(unit())
            except DBAPIError as exc:
                if not _lost_a_conflict(exc):
                    raise
            # A little apart, so that the two do not meet again at once.
            await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)
        return await _settle(unit())

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """A read-only session; never blocks, and never blocks a running sync. On SQLite a
        lent one (db/sqlite_readers.py), handed back as the block ends: a request holds
        no connection while its response is sent."""
        if self.readers is None:
            async with self._readers() as session:
                yield session
            return
        async with self.readers.session() as session:
            yield session

    @asynccontextmanager
    async def scanner(self) -> AsyncIterator[AsyncSession]:
        """A read-only session for a long read (an export, an analysis). On SQLite its
        statements run in a thread of their own, as writers' do, so the event loop keeps
        answering requests while one runs; a :meth:`reader` runs them inline, which suits
        short reads only."""
        async with self._scanners() as session:
            yield session

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            # Joined off the event loop: a checkpoint under way finishes first.
            await asyncio.to_thread(self._checkpointer.stop)
        await self.write_engine.dispose()
        if self.readers is not None:
            await self.readers.close()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
            await self.scan_engine.dispose()
