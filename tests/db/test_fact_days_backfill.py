"""Migration 0019 fills the fact-day rollups of a store synced before it with exactly the
rows a sync builds: a store synced at head, taken back to 0018 (which drops them) and
upgraded again, holds the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import select

from tests.support.api import api_world
from unimeter.db.migrate import alembic_config, current_revision, upgrade
from unimeter.db.models import usage_fact_days
from unimeter.runtime import Runtime


async def _rows(runtime: Runtime) -> list[tuple[Any, ...]]:
    async with runtime.db.reader() as session:
        table = usage_fact_days.c
        ordered = select(usage_fact_days).order_by(
            table.account_id, table.day, table.user_email, table.product, table.is_day_total
        )
        return [tuple(row) for row in (await session.execute(ordered)).all()]


async def test_the_backfill_builds_what_a_sync_builds(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        runtime = api.world.runtime
        synced = await _rows(runtime)
        assert len(synced) > 100
        assert {row[4] for row in synced} == {True, False}, "day totals and detail facts"
        await runtime.db.dispose()  # no pooled connection holds the tables during the DDL
        command.downgrade(alembic_config(database_url), "0018")
        assert current_revision(database_url) == "0018"
        upgrade(database_url)
        assert await _rows(runtime) == synced
