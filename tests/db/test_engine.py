"""The store's sessions: on SQLite a reader can never take the write lock behind the
in-process writer queue (which would leave queued writers to fail "database is locked")."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from unimeter.accounts import repository as accounts_repo
from unimeter.db.engine import Database
from unimeter.db.models import Environment


async def test_a_write_in_a_reader_fails_at_once_and_leaves_writers_free(
    database_url: str,
) -> None:
    db = Database(database_url)
    if db.backend != "sqlite":
        await db.dispose()
        pytest.skip("one engine serves readers and writers on PostgreSQL")
    try:
        async with db.session() as session:
            await accounts_repo.ensure_environment(session, "default")
        async with db.reader() as reader:
            with pytest.raises(OperationalError, match="readonly"):
                await reader.execute(text("UPDATE environments SET name = 'renamed'"))
            # The reader's transaction holds no write lock: a writer commits meanwhile.
            async with db.session() as session:
                await accounts_repo.ensure_environment(session, "other")
        async with db.reader() as reader:
            names = set(await reader.scalars(select(Environment.name)))
        assert names == {"default", "other"}
    finally:
        await db.dispose()
