"""Plan gating of the Enterprise streams through the sync engine: on a team plan each is
unavailable, costs at most one request on the first run and none on the next (the engine
asks again once a day), and the run still succeeds."""

from __future__ import annotations

from pathlib import Path

from tests.support.world import make_sim, world
from unimeter.sync.service import sync_account

ENTERPRISE = (
    "ai_code_commits",
    "ai_code_changes",
    "team_analytics",
    "user_analytics",
    "conversation_insights",
)


async def test_a_team_plan_makes_the_enterprise_streams_unavailable_at_one_request_each(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(plan="team", users=6, days=10, enterprise_apis=True)
    async with world(database_url, data_dir, sim=sim) as w:
        account_id = await w.link()
        first = await sync_account(w.runtime, account_id)
        assert first.status == "succeeded", first.error
        for name in ENTERPRISE:
            stats = first.streams[name]
            assert stats.status == "unavailable", name
            assert stats.requests <= 1, (name, stats.requests)
            assert stats.inserted == 0
        # Cloud Agents are documented for all plans (cursor-api.md §1.3); a simulator that
        # gates them too must cost no more than the others.
        runs = first.streams["agent_runs"]
        assert runs.status == "synced" or runs.requests <= 1
        # One family answers one 403 however many of its streams run at once.
        analytics = ("team_analytics", "user_analytics", "conversation_insights")
        assert sum(first.streams[n].requests for n in analytics) == 1
        again = await sync_account(w.runtime, account_id)
        assert again.status == "succeeded"
        assert all(again.streams[n].requests == 0 for n in ENTERPRISE)
        assert all(again.streams[n].status == "unavailable" for n in ENTERPRISE)
