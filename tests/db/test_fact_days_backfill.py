"""Migrations 0019 and 0022 fill the fact-day and user-day rollups of a store synced before
them with exactly the rows a sync builds: a store synced at head, taken back to the
revision before (which drops the table) and upgraded again, holds the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
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


def _both_kinds(table: Table, rows: list[dict[str, Any]]) -> bool:
    """Rows that hold day totals and rows that hold detail facts."""
    if table is usage_fact_days:
        return {row["is_day_total"] for row in rows} == {True, False}
    return any(row[in_totals("requests")] for row in rows) and any(
        row[in_detail("input_tokens")] for row in rows
    )


@pytest.mark.parametrize(
    ("table", "before"), [(usage_fact_days, "0018"), (usage_user_days, "0021")],
    ids=["fact days", "user days"],
)  # fmt: skip
async def test_the_backfill_builds_what_a_sync_builds(
    database_url: str, data_dir: Path, table: Table, before: str
) -> None:
    async with api_world(database_url, data_dir) as api:
        runtime = api.world.runtime
        synced = await _rows(runtime, table)
        assert len(synced) > 100
        assert _both_kinds(table, synced)
        await runtime.db.dispose()  # no pooled connection holds the tables during the DDL
        command.downgrade(alembic_config(database_url), before)
        assert current_revision(database_url) == before
        upgrade(database_url)
        assert await _rows(runtime, table) == synced
