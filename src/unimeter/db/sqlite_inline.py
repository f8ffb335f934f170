"""SQLite connections that run their statements on the event loop's own thread.

aiosqlite gives every connection a thread and hands each call to it: a statement costs two
thread switches, and the loop's thread gets the result back only when it next takes the
GIL from that thread. Under concurrent requests the loop thread then waits for the GIL
after every socket write and every poll (the other threads hold it for up to the switch
interval, 5 ms), and a users page spent more time handing statements over than reading.

An API read is a few statements over an indexed, memory-mapped file: less than a
millisecond each. Run where the request runs, a statement costs its own time and nothing
else. :class:`InlineConnection` is an ``aiosqlite.Connection`` whose calls run in the
caller's thread at once, so SQLAlchemy's aiosqlite dialect drives it unchanged. Writers
keep aiosqlite's thread (a bulk unit may write for seconds), and so do long scans
(``Database.scanner``, the exports).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _InlineQueue:
    """Stands in for the queue to aiosqlite's thread: SQLAlchemy's dialect puts calls on it
    directly (to set the isolation level)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the caller, as aiosqlite's thread does
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread: every call runs inline."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    async def _open(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._open().__await__()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """SQLite's connection, for statements run without aiosqlite's wrapping."""
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return self._connection

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


def inline_creator(path: str) -> Callable[[], InlineConnection]:
    """``async_creator`` for :func:`sqlalchemy.ext.asyncio.create_async_engine`."""

    def create() -> InlineConnection:
        # The pool may close a connection from another thread (at dispose).
        return InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False))

    return create
