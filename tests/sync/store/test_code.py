"""Commits, AI changes, agent runs and activity counts: compare, then write; exact counts;
a repeated commit hash with its own key is kept apart."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.support.world import world
from unimeter.connectors.records import (
    ActivityCountRecord,
    AgentRunRecord,
    AiChangeRecord,
    CommitRecord,
)
from unimeter.db.models import ActivityCount, AgentRun, AiChange, Commit, commit_days
from unimeter.sync.store import code_repository

AT = 1_780_000_000_000  # 2026-05-28T20:26:40Z


def _commit(key: str, added: int, human: int | None) -> CommitRecord:
    return CommitRecord(
        key=key, commit_id="9c1e77ab", user_email="a@x.io", repository="acme/pay",
        branch="main", is_primary_branch=True, surface="ide", committed_at_ms=AT,
        lines_added=added, lines_deleted=1, completion_lines_added=2,
        completion_lines_deleted=0, agent_lines_added=3, agent_lines_deleted=1,
        human_lines_added=human, human_lines_deleted=None, raw={"commitHash": "9c1e77ab"},
    )  # fmt: skip


async def _count(db: Any, model: Any) -> int:
    async with db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_keyed_records_are_compared_then_written(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        # One hash listed twice (an amended commit): two keys, two rows.
        commits = [_commit("9c1e77ab#0", 10, 5), _commit("9c1e77ab#1", 12, None)]
        change = AiChangeRecord(key="ch1", user_email="a@x.io", source="agent", model="m",
                                created_at_ms=AT, lines_added=4, lines_deleted=0,
                                file_extensions=["py", "ts", "py"])  # fmt: skip
        run = AgentRunRecord(key="run1", agent_id="bc-1", user_email="a@x.io", name="Fix",
                             status="finished", repository="acme/pay", branch="cursor/fix",
                             pull_request_url="https://github.com/acme/pay/pull/7",
                             created_at_ms=AT, duration_ms=60_000, input_tokens=10)  # fmt: skip
        for batch in ([*commits], [change], [run]):
            async with db.session() as session:
                first = await code_repository.upsert_keyed(session, account_id, batch)
            async with db.session() as session:
                again = await code_repository.upsert_keyed(session, account_id, batch)
            assert (first.inserted, again.unchanged, again.inserted) == (len(batch), len(batch), 0)
        async with db.session() as session:
            revised = await code_repository.upsert_keyed(
                session, account_id, [_commit("9c1e77ab#1", 12, 7)]
            )
        assert revised.updated == 1
        async with db.reader() as session:
            rows = (await session.scalars(select(Commit).order_by(Commit.key))).all()
            stored_change = await session.scalar(select(AiChange))
            stored_run = await session.scalar(select(AgentRun))
        assert [(r.key, r.human_lines_added) for r in rows] == [
            ("9c1e77ab#0", 5),
            ("9c1e77ab#1", 7),
        ]
        assert rows[0].day == dt.date(2026, 5, 28) and rows[0].human_lines_deleted is None
        assert stored_change is not None and stored_change.file_extensions == "py,ts"
        assert stored_run is not None and stored_run.output_tokens is None  # unknown, not 0
        assert stored_run.status == "finished" and stored_run.day == dt.date(2026, 5, 28)


async def test_activity_counts_are_summed_per_key(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        day = dt.date(2026, 5, 1)
        batch = [
            ActivityCountRecord(day=day, kind="active_users", key="all", value=41),
            ActivityCountRecord(day=day, kind="mcp_tool", key="gh/search", value=2,
                                user_email="a@x.io"),
            ActivityCountRecord(day=day, kind="mcp_tool", key="gh/search", value=3,
                                user_email="a@x.io"),
        ]  # fmt: skip
        async with db.session() as session:
            first = await code_repository.upsert_activity_counts(session, account_id, batch)
        async with db.session() as session:
            again = await code_repository.upsert_activity_counts(session, account_id, batch)
        changed = [ActivityCountRecord(day=day, kind="active_users", key="all", value=40)]
        async with db.session() as session:
            third = await code_repository.upsert_activity_counts(session, account_id, changed)
        assert (first.inserted, again.unchanged, third.updated) == (2, 2, 1)
        async with db.reader() as session:
            values = dict(
                (await session.execute(select(ActivityCount.kind, ActivityCount.value))).all()
            )
        assert values == {"active_users": 40, "mcp_tool": 5}
        assert await _count(db, ActivityCount) == 2


async def _commit_days(db: Any) -> list[tuple[Any, ...]]:
    async with db.reader() as session:
        d = commit_days.c
        rows = await session.execute(select(commit_days).order_by(d.user_email, d.day))
        return [tuple(row)[1:] for row in rows.all()]


async def _summed_commits(db: Any) -> list[tuple[Any, ...]]:
    """What the rollups must hold: the stored commits grouped as a reader would."""
    async with db.reader() as session:
        c = Commit.__table__.c
        email = func.lower(c.user_email)
        rows = await session.execute(
            select(email, c.day, func.count(), func.sum(c.lines_added),
                   func.sum(c.completion_lines_added), func.sum(c.agent_lines_added),
                   func.sum(c.human_lines_added))
            .group_by(email, c.day)
            .order_by(email, c.day)
        )  # fmt: skip
        return [tuple(row) for row in rows.all()]


async def test_commit_rollups_follow_every_write_of_commits(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        day = 86_400_000
        first = [
            _commit("k1", 10, 5),
            replace(_commit("k2", 12, None), user_email="A@X.io"),  # the same person
            replace(_commit("k3", 7, None), committed_at_ms=AT + day, user_email="b@x.io"),
        ]
        async with db.session() as session:
            await code_repository.upsert_keyed(session, account_id, first)
        summed = await _summed_commits(db)
        assert [row[:3] for row in summed] == [
            ("a@x.io", dt.date(2026, 5, 28), 2), ("b@x.io", dt.date(2026, 5, 29), 1),
        ]  # fmt: skip
        assert await _commit_days(db) == summed
        assert summed[0][3:] == (22, 4, 6, 5) and summed[1][6] is None
        # A commit rewritten onto another day (a rebase) leaves its old day's sums too.
        moved = [replace(_commit("k1", 10, 5), committed_at_ms=AT + day)]
        async with db.session() as session:
            await code_repository.upsert_keyed(session, account_id, moved)
        summed = await _summed_commits(db)
        assert await _commit_days(db) == summed
        assert [row[:3] for row in summed] == [
            ("a@x.io", dt.date(2026, 5, 28), 1), ("a@x.io", dt.date(2026, 5, 29), 1),
            ("b@x.io", dt.date(2026, 5, 29), 1),
        ]  # fmt: skip
