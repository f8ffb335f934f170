"""Migration 0021 fills the commit rollups of a store written before it with exactly the
rows the sync keeps: a store with commits, taken back to 0020 (which drops them) and
upgraded again, holds the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import select

from tests.analytics.codeworld import code_world
from unimeter.db.migrate import alembic_config, current_revision, upgrade
from unimeter.db.models import commit_days
from unimeter.runtime import Runtime


async def _rows(runtime: Runtime) -> list[tuple[Any, ...]]:
    async with runtime.db.reader() as session:
        d = commit_days.c
        ordered = select(commit_days).order_by(d.account_id, d.user_email, d.day)
        return [tuple(row) for row in (await session.execute(ordered)).all()]


async def test_the_backfill_builds_what_the_writes_keep(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        runtime = x.api.world.runtime
        kept = await _rows(runtime)
        assert len(kept) > 10
        assert len({row[1] for row in kept}) > 1, "several people"
        await runtime.db.dispose()  # no pooled connection holds the tables during the DDL
        command.downgrade(alembic_config(database_url), "0020")
        assert current_revision(database_url) == "0020"
        upgrade(database_url)
        assert await _rows(runtime) == kept
