"""The migration every process runs at start-up waits for another process's write lock as
long as the store's busy timeout says (``UNIMETER_SQLITE_BUSY_TIMEOUT_MS``), not the SQLite
driver's default of 5 s: a command started while a sync writes must not fail sooner than
the same command's own writes would."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from unimeter.db.migrate import current_revision, upgrade

DRIVER_DEFAULT_SECONDS = 5.0  # sqlite3.connect's timeout


def test_the_upgrade_waits_out_a_writer_past_the_drivers_default(sqlite_url: str) -> None:
    head = current_revision(sqlite_url)
    writer = sqlite3.connect(
        Path(sqlite_url.removeprefix("sqlite:///")), isolation_level=None, check_same_thread=False
    )
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction, held open
    # Held a second past the driver's default, then released: a wait that gives up at the
    # default fails the upgrade with "database is locked".
    release = threading.Timer(DRIVER_DEFAULT_SECONDS + 1, writer.execute, args=("ROLLBACK",))
    release.start()
    try:
        upgrade(sqlite_url, busy_timeout_ms=60_000)
    finally:
        release.join()
        writer.close()
    assert current_revision(sqlite_url) == head
