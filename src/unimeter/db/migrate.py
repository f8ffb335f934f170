"""Programmatic Alembic upgrades; the same migrations serve SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

# Alembic imports Mako (it writes new revision files from templates), and Mako's error pages
# import Pygments' lexers when Pygments is installed: about 0.1 s of every CLI start. Mako
# falls back to plain text without them; nothing here renders a Mako error page.
sys.modules.setdefault("mako.ext.pygmentplugin", None)  # type: ignore[arg-type]

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402

from .engine import resolve_urls, secure_sqlite_file, sqlite_path  # noqa: E402

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
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
    config = alembic_config(url)
    config.attributes["sqlite_busy_timeout_ms"] = busy_timeout_ms
    command.upgrade(config, revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(resolve_urls(url).sync_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
