"""SQLite units of work that write in bulk: a wide page cache, and checkpoints off their path.

A backfill inserts into every index of a large table at scattered places (an event's
fingerprint is a hash). Two of SQLite's defaults then cost a bulk writer much of its time:

- **2 MB of cached pages.** Each insert re-reads index pages it evicted moments before. A
  bulk unit gets ``BULK_CACHE_KIB`` for its duration; the connection gives it back when it
  returns to the pool, so one unit at a time holds it (SQLite has one writer), not every
  pooled writer connection.
- **Checkpoints at commit.** Once the WAL holds 1,000 pages, the committing connection
  copies it into the database file and syncs both files before its commit returns: about a
  fifth of a backfill's store time. A bulk unit's commit does that only past
  ``BULK_AUTOCHECKPOINT_BYTES`` of WAL; meanwhile, when its connection returns to the pool, a
  thread of the store's own (:class:`Checkpointer`) runs a passive checkpoint on a
  connection of its own while the next unit writes, so the committing connection finds
  most frames already copied. A passive checkpoint never blocks writers or readers, and
  what is durable when is unchanged (``synchronous=NORMAL``: a checkpoint syncs, a commit
  does not).

Every other unit of work keeps SQLite's defaults.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger("unimeter.db")

BULK_CACHE_KIB = 32 * 1024
_DEFAULT_CACHE_SIZE = -2000  # SQLite's own default: 2,000 KiB
_DEFAULT_AUTOCHECKPOINT = 1000  # pages, SQLite's own default
_BULK = "unimeter_bulk_unit"
# A bulk unit's own commit checkpoints only past this much WAL (in pages of the store's own
# size: 8,192 of a new store's 16 KiB, 32,768 of an older store's 4 KiB): the bound that
# lets the WAL start over. The checkpointer's passive runs copy frames in between,
# but they run beside the writer and so never catch up with its last commit; without a
# checkpoint of the committing connection's own, the WAL grew by gigabytes in a backfill.
BULK_AUTOCHECKPOINT_BYTES = 128 * 1024 * 1024


async def prepare_bulk_unit(connection: AsyncConnection) -> None:
    """Mark this unit of work as a bulk writer (on SQLite; elsewhere nothing changes)."""
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if raw.info.get(_BULK):
        return
    await connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    page_size = (await connection.exec_driver_sql("PRAGMA page_size")).scalar_one()
    pages = BULK_AUTOCHECKPOINT_BYTES // int(page_size)
    await connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={pages}")
    raw.info[_BULK] = True


class Checkpointer:
    """Checkpoints one SQLite file's WAL in a thread of its own, when asked.

    Requests made while a checkpoint runs are folded into the next one. Started on the first
    request, so a process that never writes in bulk never starts the thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.completed = 0  # checkpoints run (tests poll it)
        self._wanted = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def request(self) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"checkpoint {self.path.name}", daemon=True
                )
                self._thread.start()
        self._wanted.set()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wanted.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:  # commits checkpoint again once their units end
            log.warning("cannot open %s to checkpoint it: %s", self.path.name, exc)
            return
        try:
            while True:
                self._wanted.wait()
                self._wanted.clear()
                if self._stopping:
                    return
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next request tries again
                    log.debug("checkpoint of %s failed: %s", self.path.name, exc)
                self.completed += 1
        finally:
            connection.close()


def return_bulk_units(engine: AsyncEngine, checkpointer: Checkpointer | None) -> None:
    """When a bulk unit's connection returns to ``engine``'s pool: SQLite's defaults back,
    the cache's memory freed, and (for a file) the WAL's checkpoint requested."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is None or not record.info.pop(_BULK, False):
            return
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size={_DEFAULT_CACHE_SIZE}")
        cursor.execute("PRAGMA shrink_memory")
        cursor.execute(f"PRAGMA wal_autocheckpoint={_DEFAULT_AUTOCHECKPOINT}")
        cursor.close()
        if checkpointer is not None:
            checkpointer.request()
