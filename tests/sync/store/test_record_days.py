"""Writing what a stored usage record shows (commits, agent runs, the vendor's daily rows)
marks the days written, so that the end of the run rebuilds them and renders their records
again; writing nothing new marks nothing, and AI changes (which no record shows) mark
nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.support.world import world
from unimeter.connectors.records import (
    AgentRunRecord,
    AiChangeRecord,
    CommitRecord,
    DailyUsageRecord,
)
from unimeter.sync.store import code_repository, rollups_repository, usage_repository

DAY = dt.date(2026, 5, 28)
AT = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def _commit(added: int) -> CommitRecord:
    return CommitRecord(
        key="c1", commit_id="9c1e77ab", user_email="a@x.io", repository="acme/pay",
        branch="main", is_primary_branch=True, surface="ide", committed_at_ms=AT,
        lines_added=added, lines_deleted=1, completion_lines_added=2,
        completion_lines_deleted=0, agent_lines_added=3, agent_lines_deleted=1,
        human_lines_added=None, human_lines_deleted=None,
    )  # fmt: skip


def _run(status: str) -> AgentRunRecord:
    return AgentRunRecord(
        key="r1", agent_id="bc-1", user_email="a@x.io", name="Fix", status=status,
        repository="acme/pay", branch="b", pull_request_url=None, created_at_ms=AT + 86_400_000,
        duration_ms=None, input_tokens=1,
    )  # fmt: skip


def _daily(chat: int) -> DailyUsageRecord:
    counts = dict.fromkeys(
        ("lines_added", "lines_deleted", "accepted_lines_added", "accepted_lines_deleted",
         "applies", "accepts", "rejects", "tabs_shown", "tabs_accepted", "composer_requests",
         "agent_requests", "cmdk_requests", "included_requests", "usage_based_requests",
         "api_key_requests", "bugbot_requests"),
        0,
    )  # fmt: skip
    return DailyUsageRecord(
        day=DAY + dt.timedelta(days=2), user_key="7", email="a@x.io", numeric_user_id=7,
        is_active=True, chat_requests=chat, most_used_model=None, apply_extension=None,
        tab_extension=None, client_version="1.0", raw={"chatRequests": chat}, **counts,
    )  # fmt: skip


async def test_writes_a_record_shows_mark_their_days(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db

        async def marked(write: Any) -> list[dt.date]:
            """The days ``write`` marked (the marks cleared after)."""
            async with db.session() as session:
                await write(session)
            async with db.session() as session:
                days = await rollups_repository.dirty_days(session, account_id)
                await rollups_repository.clear_dirty(session, account_id, days)
            return sorted(days)

        commits, run, daily = [_commit(10)], [_run("running")], [_daily(3)]
        change = AiChangeRecord(key="ch1", user_email="a@x.io", source="agent", model="m",
                                created_at_ms=AT, lines_added=4, lines_deleted=0)  # fmt: skip

        def keyed(records: list[Any]) -> Any:
            return lambda s: code_repository.upsert_keyed(s, account_id, records)

        def daily_rows(records: list[DailyUsageRecord]) -> Any:
            return lambda s: usage_repository.upsert_daily_usage(s, account_id, records, {})

        assert await marked(keyed(commits)) == [DAY]
        assert await marked(keyed(commits)) == []  # unchanged
        assert await marked(keyed([replace(commits[0], lines_added=11)])) == [DAY]
        assert await marked(keyed(run)) == [DAY + dt.timedelta(days=1)]
        assert await marked(keyed([replace(run[0], status="finished")])) == [
            DAY + dt.timedelta(days=1)
        ]
        assert await marked(keyed([change])) == []
        assert await marked(daily_rows(daily)) == [DAY + dt.timedelta(days=2)]
        assert await marked(daily_rows(daily)) == []
        assert await marked(daily_rows([_daily(4)])) == [DAY + dt.timedelta(days=2)]
