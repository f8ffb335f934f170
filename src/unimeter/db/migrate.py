"""Programmatic Alembic upgrades; the same migrations serve SQLite and PostgreSQL.

Alembic is imported only when a store is behind: every CLI command and every server opens
its store through :func:`upgrade`, and Alembic's imports alone (about 0.5 s) were a
quarter of a CLI command's start, for a store that is nearly always at head already.
"""

from __future__ import annotations

import re
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, create_engine, inspect, pool, text
from sqlalchemy.exc import DBAPIError

from .engine import resolve_urls, secure_sqlite_file, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# Each revision file declares its id as ``revision: str = "0019"``.
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.MULTILINE)


class MigrationError(Exception):
    """A migration could not run (Alembic's reason, in one line)."""


@cache
def head_revision() -> str:
    """The newest revision's id. Files are named by their ids' order (``0019_...``), so the
    last by name is the head; a test holds this equal to Alembic's own answer."""
    newest = sorted((MIGRATIONS / "versions").glob("[0-9]*_*.py"))[-1]
    found = _REVISION.search(newest.read_text(encoding="utf-8"))
    if found is None:
        raise MigrationError(f"{newest.name} declares no revision")
    return found.group(1)


def alembic_config(url: str) -> Config:
    _quiet_mako()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # "%" must be escaped in ConfigParser values (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", resolve_urls(url).sync_url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", *, busy_timeout_ms: int | None = None) -> None:
    """Migrate to ``revision``. On SQLite the upgrade's ``BEGIN IMMEDIATE`` waits for another
    process's write lock up to ``busy_timeout_ms`` (the store's own setting), not the
    driver's default of 5 s."""
    path = sqlite_path(resolve_urls(url).sync_url)
    if path is not None:
        secure_sqlite_file(path)
    if revision == "head" and current_revision(url) == head_revision():
        return
    from alembic import command
    from alembic.util.exc import CommandError

    config = alembic_config(url)
    config.attributes["sqlite_busy_timeout_ms"] = busy_timeout_ms
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise MigrationError(str(exc)) from exc


def current_revision(url: str) -> str | None:
    """The store's revision; None for a store no migration has run on."""
    engine = create_engine(resolve_urls(url).sync_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            try:
                found = connection.scalar(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:
                if _has_version_table(connection):
                    raise
                return None
            return None if found is None else str(found)
    finally:
        engine.dispose()


def _has_version_table(connection: Connection) -> bool:
    connection.rollback()  # PostgreSQL refuses further statements in a failed transaction
    return bool(inspect(connection).has_table("alembic_version"))


def _quiet_mako() -> None:
    # Alembic imports Mako (it writes new revision files from templates), and Mako's error
    # pages import Pygments' lexers when Pygments is installed: about 0.1 s more. Mako falls
    # back to plain text without them; nothing here renders a Mako error page.
    sys.modules.setdefault("mako.ext.pygmentplugin", None)  # type: ignore[arg-type]
