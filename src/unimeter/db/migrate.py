"""Programmatic Alembic upgrades; the same migrations serve SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .engine import resolve_urls, secure_sqlite_file, sqlite_path

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # "%" must be escaped in ConfigParser values (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", resolve_urls(url).sync_url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    path = sqlite_path(resolve_urls(url).sync_url)
    if path is not None:
        secure_sqlite_file(path)
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(resolve_urls(url).sync_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
