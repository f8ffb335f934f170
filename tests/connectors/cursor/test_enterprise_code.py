"""AI Code Tracking streams (``ai_code_commits``, ``ai_code_changes``) against the simulator:
every record equals the simulator's truth, repeated hashes stay apart, null hand-written
lines stay None, and an unchanged range costs 304s and yields nothing."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from typing import Any

import orjson

from unimeter.connectors.cursor.code_mapping import iso_ms
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.records import AiChangeRecord, CommitRecord
from unimeter.connectors.source import Record
from unimeter.connectors.windows import plan_windows

from .conftest import make_sim, sim_client

SURFACES = {"ide": "ide", "cli": "cli", "cloud": "cloud_agent"}


async def read(source: CursorSource, stream: str, start_ms: int, now_ms: int) -> list[Record]:
    """Every record of a stream, window by window as the engine reads them."""
    out: list[Record] = []
    for window in plan_windows(start_ms, now_ms, 30):
        async for batch in source.fetch(stream, window):
            assert batch, "a batch is never empty"
            out.extend(batch)
    return out


def expected_commit(item: dict[str, Any]) -> tuple[object, ...]:
    return (
        item["commitHash"], item["userEmail"].lower(), item["repoName"], item["branchName"],
        item["isPrimaryBranch"], SURFACES[item["commitSource"]], item["totalLinesAdded"],
        item["totalLinesDeleted"], item["tabLinesAdded"], item["tabLinesDeleted"],
        item["composerLinesAdded"], item["composerLinesDeleted"], item["nonAiLinesAdded"],
        item["nonAiLinesDeleted"],
    )  # fmt: skip


def commit_fields(r: CommitRecord) -> tuple[object, ...]:
    return (
        r.commit_id, r.user_email, r.repository, r.branch, r.is_primary_branch, r.surface,
        r.lines_added, r.lines_deleted, r.completion_lines_added, r.completion_lines_deleted,
        r.agent_lines_added, r.agent_lines_deleted, r.human_lines_added, r.human_lines_deleted,
    )  # fmt: skip


def canonical(items: Iterable[dict[str, Any]]) -> list[bytes]:
    return sorted(orjson.dumps(i, option=orjson.OPT_SORT_KEYS) for i in items)


def enterprise_sim(**overrides: object) -> SimulatedCursor:
    settings: dict[str, object] = {
        "users": 12,
        "days": 40,
        "plan": "enterprise",
        "enterprise_apis": True,
    }
    settings.update(overrides)
    return make_sim(**settings)


async def test_commits_equal_the_truth_and_repeated_hashes_stay_apart() -> None:
    sim = enterprise_sim()
    truth = sim.truth()
    start, now = truth.history_start_ms, truth.now_ms
    async with sim_client(sim) as client:
        records = await read(CursorSource(client), "ai_code_commits", start, now)
    commits = [r for r in records if isinstance(r, CommitRecord)]
    assert len(commits) == len(records)
    served = truth.commits(start, now, retention=True)
    assert sorted(map(commit_fields, commits)) == sorted(map(expected_commit, served))
    assert canonical(r.raw for r in commits) == canonical(served)  # raw kept verbatim
    # One record per listed commit, a repeated hash included: keys never collide.
    assert len({r.key for r in commits}) == len(commits)
    hashes = [r.commit_id for r in commits]
    assert len(set(hashes)) < len(hashes), "the simulator lists some hash twice"
    nulls = [r for r in commits if r.raw["nonAiLinesAdded"] is None]
    assert nulls, "the simulator sends null nonAiLines for some commits"
    assert all(r.human_lines_added is None and r.human_lines_deleted is None for r in nulls)
    for r in commits:
        assert r.committed_at_ms == _ms(r.raw["commitTs"])


async def test_changes_equal_the_truth_with_privacy_mode_tolerated() -> None:
    sim = enterprise_sim()
    truth = sim.truth()
    start, now = truth.history_start_ms, truth.now_ms
    async with sim_client(sim) as client:
        records = await read(CursorSource(client), "ai_code_changes", start, now)
    changes = [r for r in records if isinstance(r, AiChangeRecord)]
    served = truth.changes(start, now, retention=True)
    assert canonical(r.raw for r in changes) == canonical(served)
    by_key = {r.key: r for r in changes}
    assert len(by_key) == len(served)
    for item in served:
        r = by_key[item["changeId"]]
        assert r.source == {"TAB": "completion", "COMPOSER": "agent"}[item["source"]]
        assert (r.user_email, r.model) == (item["userEmail"].lower(), item["model"])
        assert (r.lines_added, r.lines_deleted) == (
            item["totalLinesAdded"],
            item["totalLinesDeleted"],
        )
        assert r.created_at_ms == _ms(item["createdAt"])
        extensions = [f["fileExtension"] for f in item["metadata"]]
        assert r.file_extensions == list(dict.fromkeys(e.lower() for e in extensions))
    hidden = [i for i in served if i["metadata"] and "fileName" not in i["metadata"][0]]
    assert hidden, "some members are in privacy mode"
    assert all(by_key[i["changeId"]].file_extensions for i in hidden)


async def test_an_unchanged_range_read_again_costs_304s_and_yields_nothing() -> None:
    sim = enterprise_sim()
    truth = sim.truth()
    start, now = truth.history_start_ms, truth.now_ms
    async with sim_client(sim) as client:
        first = CursorSource(client)
        assert await read(first, "ai_code_commits", start, now)
        assert first.counters("ai_code_commits").not_modified == 0
        asked = sim.requests[sim.keys[0]]
        # The next run of the same account: the engine hands back what the last one kept.
        again = CursorSource(client)
        again.restore("ai_code_commits", first.memory("ai_code_commits"))
        assert await read(again, "ai_code_commits", start, now) == []
        stats = again.counters("ai_code_commits")
        assert stats.not_modified == stats.requests > 0
        # 304s cost no rate limit at Cursor: the simulator counts none of them.
        assert sim.requests[sim.keys[0]] == asked
        # Another account's source (nothing restored) reads everything again.
        assert await read(CursorSource(client), "ai_code_commits", start, now)


def _ms(iso: str) -> int:
    value = iso_ms(iso)
    assert value is not None
    return value


async def test_an_etag_counts_only_once_the_engine_took_its_batch() -> None:
    """A batch the engine never finished with (its write failed, the run was cancelled) is
    read again in full next time: its 200's ETag was never remembered."""
    sim = enterprise_sim()
    now = sim.clock.now_ms()
    window = plan_windows(now - 5 * 86_400_000, now, 30)[0]
    async with sim_client(sim) as client:
        stopped = CursorSource(client)
        batches = stopped.fetch("ai_code_commits", window)
        assert isinstance(batches, AsyncGenerator)
        first = await anext(batches)
        await batches.aclose()  # the engine stopped before asking for more
        assert stopped.memory("ai_code_commits") == {}
        source = CursorSource(client)
        source.restore("ai_code_commits", stopped.memory("ai_code_commits"))
        again = [r async for batch in source.fetch("ai_code_commits", window) for r in batch]
        assert again[: len(first)] == first
        assert len(source.memory("ai_code_commits")["etags"]) == 1
