"""A source's memory between runs (Cursor's ETags) is kept per account and stream by the
engine: the next run of an unchanged range gets 304s and writes nothing, another account
with the same key reads everything, and a store never holds less than the 304s stand for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.support.world import make_sim, world
from unimeter.db.models import ActivityCount, Commit, SyncState
from unimeter.sync.service import sync_account
from unimeter.tenancy.repository import ensure_environment

ETAG_STREAMS = ("ai_code_commits", "ai_code_changes", "team_analytics", "user_analytics")


async def test_the_next_run_of_an_unchanged_range_costs_304s(
    database_url: str, data_dir: Path
) -> None:
    # A small team: what is asserted is per stream and window, not per row.
    sim = make_sim(enterprise_apis=True, users=8, days=20)
    async with world(database_url, data_dir, sim=sim) as w:
        first_id = await w.link()
        first = await sync_account(w.runtime, first_id)
        assert first.status == "succeeded", first.error
        async with w.runtime.db.reader() as session:
            commits = await session.scalar(select(func.count()).select_from(Commit))
            memory: dict[str, Any] = dict(
                (
                    await session.execute(
                        select(SyncState.stream, SyncState.memory).where(
                            SyncState.account_id == first_id
                        )
                    )
                ).all()
            )
        assert commits
        for stream in ETAG_STREAMS:
            assert memory[stream] and memory[stream]["etags"], stream
            assert first.streams[stream].not_modified == 0

        # The next run re-reads the lookback days (a window the backfill did not ask for);
        # the one after it asks for that same window again, as hourly runs of one day do:
        # every conditional request is answered 304.
        incremental = await sync_account(w.runtime, first_id)
        assert incremental.status == "succeeded", incremental.error
        again = await sync_account(w.runtime, first_id)
        assert again.status == "succeeded", again.error
        for stream in ETAG_STREAMS:
            stats = again.streams[stream]
            assert stats.requests > 0 and stats.not_modified == stats.requests, stream
            assert stats.inserted == stats.updated == 0, stream

        # Another account on the same key (a second environment): its store holds nothing
        # the first one's ETags stand for, so it reads every row.
        async with w.runtime.db.session() as session:
            await ensure_environment(session, "other")
        other_id = await w.link(environment="other")
        other = await sync_account(w.runtime, other_id)
        assert other.status == "succeeded", other.error
        assert other.streams["ai_code_commits"].not_modified == 0
        async with w.runtime.db.reader() as session:
            theirs = await session.scalar(
                select(func.count()).select_from(Commit).where(Commit.account_id == other_id)
            )
            counts = await session.scalar(
                select(func.count())
                .select_from(ActivityCount)
                .where(ActivityCount.account_id == other_id)
            )
        assert theirs == commits and counts
