"""Synced worlds built once per test process, then copied.

Dozens of tests start from the same default world (the default simulator, both accounts
linked and synced), and its two backfills are most of what such a test costs. The first
one a process needs (per backend and settings) is built in a database of its own, closed
and kept as a snapshot; later ones copy it into the test's fresh database (SQLite: a file
copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``) and its master key into the test's data
directory, and take over the ids and tokens recorded at build time. The simulator is new
each time: the same config serves the same data, so nothing a test can observe differs,
except that the simulator has not yet served the backfill's requests (tests count requests
as differences, never from zero).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.dropdb import drop_later
from unimeter.kit.keys import ENV_VAR, KEY_FILE_NAME


@dataclass(frozen=True)
class Snapshot:
    url: str  # the closed, synced database copies are made from
    key_file: bytes  # the master key its secrets are encrypted with
    tokens: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)


Populate = Callable[[str, Path], Awaitable[tuple[dict[str, str], dict[str, str]]]]

_snapshots: dict[tuple[str, str, str], Snapshot] = {}
_scratch: list[Path] = []
_set_aside: list[tuple[str, str]] = []  # (a url on the server, a database to drop)


async def synced_copy(
    database_url: str, data_dir: Path, world_key: str, populate: Populate
) -> Snapshot:
    """Put the synced world named ``world_key`` (all that shapes it: simulator options and
    settings) into ``database_url`` (fresh, never opened) and ``data_dir``, building it
    first with ``populate(url, data_dir)`` when this process has none yet."""
    key = (make_url(database_url).get_backend_name(), world_key, os.environ.get(ENV_VAR, ""))
    snapshot = _snapshots.get(key)
    if snapshot is None:
        snapshot = _snapshots[key] = await _build(database_url, populate)
    _copy_database(snapshot.url, database_url)
    key_file = data_dir / KEY_FILE_NAME
    if snapshot.key_file and not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(snapshot.key_file)
    return snapshot


async def _build(fresh_url: str, populate: Populate) -> Snapshot:
    scratch = Path(tempfile.mkdtemp(prefix="um-snapshot-"))
    _scratch.append(scratch)
    url = _new_database_like(fresh_url, scratch)
    data_dir = scratch / "data"
    data_dir.mkdir()
    tokens, accounts = await populate(url, data_dir)
    if _is_sqlite(url):
        # Fold the WAL into the file, so a copy of the file is the whole database.
        with sqlite3.connect(_sqlite_path(url)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    key_path = data_dir / KEY_FILE_NAME
    key_file = key_path.read_bytes() if key_path.exists() else b""
    return Snapshot(url, key_file, tokens, accounts)


def _new_database_like(fresh_url: str, scratch: Path) -> str:
    """A new migrated, empty database beside ``fresh_url``, for the snapshot."""
    if _is_sqlite(fresh_url):
        path = scratch / "snapshot.db"
        shutil.copyfile(_sqlite_path(fresh_url), path)
        return f"sqlite:///{path}"
    name = f"um_snap_{uuid.uuid4().hex[:10]}"
    _admin(fresh_url, _create(name, _database(fresh_url)))
    return make_url(fresh_url).set(database=name).render_as_string(hide_password=False)


def _copy_database(source: str, target: str) -> None:
    if _is_sqlite(source):
        shutil.copyfile(_sqlite_path(source), _sqlite_path(target))
        return
    # Renamed out of the way, not dropped: a drop makes the server checkpoint (dropdb.py).
    name = _database(target)
    aside = f"{name}_aside"
    _admin(target, sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
        sql.Identifier(name), sql.Identifier(aside)))  # fmt: skip
    _set_aside.append((target, aside))
    _admin(target, _create(name, _database(source)))


def close() -> None:
    """Drop the snapshots (PostgreSQL databases, SQLite files) this process built."""
    doomed = [(s.url, _database(s.url)) for s in _snapshots.values() if not _is_sqlite(s.url)]
    doomed += _set_aside
    if doomed:
        drop_later(_admin_url(doomed[0][0]), [name for _, name in doomed])
    _snapshots.clear()
    _set_aside.clear()
    for path in _scratch:
        shutil.rmtree(path, ignore_errors=True)
    _scratch.clear()


def _create(name: str, template: str) -> sql.Composed:
    return sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(template)
    )


def _admin_url(url: str) -> str:
    # Any database but the one acted on: the server's maintenance database.
    admin = make_url(url).set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False)


def _admin(url: str, statement: sql.Composable) -> None:
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[call-overload]  # psycopg accepts any Composable


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> str:
    return str(make_url(url).database)


def _database(url: str) -> str:
    return str(make_url(url).database)
