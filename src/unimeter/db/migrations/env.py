"""Alembic environment: sync drivers, one advisory lock on PostgreSQL so that several
processes starting at once (workers, API servers) never run the same migration twice.

On SQLite the whole upgrade is one transaction, as on PostgreSQL. Python's driver would
otherwise commit each DDL statement on its own: a crash mid-upgrade left half a schema,
and a fresh store paid one fsync per statement (about 200, most of a CLI command's
start-up on a new store). ``BEGIN IMMEDIATE`` also makes a second process starting at the
same moment wait for the first and then find the store at head."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine, create_engine, event, pool, text

import unimeter.db.models  # noqa: F401  (registers every table)
from unimeter.db.base import Base

MIGRATION_LOCK = 0x756E696D  # "unim"


def run_migrations_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        _one_sqlite_transaction(engine, context.config.attributes.get("sqlite_busy_timeout_ms"))
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=True,
                compare_type=True,
                # SQLite runs DDL in a transaction too: without this, Alembic commits
                # after each migration (see _one_sqlite_transaction).
                transactional_ddl=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if postgres:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
                connection.commit()
    engine.dispose()


def _one_sqlite_transaction(engine: Engine, busy_timeout_ms: int | None) -> None:
    """Take transaction control from the driver, so that BEGIN (and DDL) is ours, and wait
    for another writer as long as the store's own connections do."""

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if busy_timeout_ms is not None:
            dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
