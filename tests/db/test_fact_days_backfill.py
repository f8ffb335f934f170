"""Migrations 0019 and 0022 fill the fact-day and user-day rollups of a store synced before
them with exactly the rows a sync builds: a store synced at head, taken back to 0018 (which
drops both tables) and upgraded again, holds the same rows in both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Table, select

from tests.support.api import api_world
from unimeter.db.migrate import alembic_config, current_revision, upgrade
from unimeter.db.models import usage_fact_days, usage_user_days
from unimeter.db.models.rollups import in_detail, in_totals
from unimeter.runtime import Runtime


async def _rows(runtime: Runtime, table: Table) -> list[dict[str, Any]]:
    async with runtime.db.reader() as session:
        ordered = select(table).order_by(*table.primary_key.columns)
        return [dict(row._mapping) for row in (await session.execute(ordered)).all()]


async def test_the_backfills_build_what_a_sync_builds(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        runtime = api.world.runtime
        fact_days = await _rows(runtime, usage_fact_days)
        user_days = await _rows(runtime, usage_user_days)
        assert len(fact_days) > 100 and len(user_days) > 100
        assert {row["is_day_total"] for row in fact_days} == {True, False}, "both kinds"
        assert any(row[in_totals("requests")] for row in user_days)
        assert any(row[in_detail("input_tokens")] for row in user_days)
        await runtime.db.dispose()  # no pooled connection holds the tables during the DDL
        command.downgrade(alembic_config(database_url), "0018")
        assert current_revision(database_url) == "0018"
        upgrade(database_url)
        assert await _rows(runtime, usage_fact_days) == fact_days
        assert await _rows(runtime, usage_user_days) == user_days
