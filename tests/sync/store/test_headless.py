"""Which usage is headless: every surface but the interactive ones (an editor, a person's
terminal) and the unsplit one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from tests.support.world import world
from unimeter.connectors.facts import UsageFactRecord
from unimeter.db.models import UserDayRollup
from unimeter.sync.store import facts_repository, rollups_repository

DAY = dt.date(2026, 6, 3)
COSTS = {"ide": 1, "terminal": 10, "": 100, "cli": 1_000, "automation": 10_000,
         "cloud_agent": 100_000}  # fmt: skip


async def test_only_unattended_surfaces_count_as_headless(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        facts = [
            UsageFactRecord(day=DAY, product="toy", user_email="a@x.io", surface=surface,
                            model="m", metrics={"cost_cents_e6": cost})
            for surface, cost in COSTS.items()
        ]  # fmt: skip
        async with w.runtime.db.session() as session:
            await facts_repository.write_facts(session, account_id, facts)
            await rollups_repository.refresh(session, account_id, [DAY])
        async with w.runtime.db.reader() as session:
            row = await session.scalar(
                select(UserDayRollup).where(UserDayRollup.account_id == account_id)
            )
        assert row is not None
        assert row.charged_cents_e6 == sum(COSTS.values())
        assert row.headless_cents_e6 == COSTS["cli"] + COSTS["automation"] + COSTS["cloud_agent"]
