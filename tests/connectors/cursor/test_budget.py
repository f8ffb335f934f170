"""RateBudget: endpoint groups, sliding-window pacing, penalties, and zero 429s end to end."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from typing import Any

import pytest

from unimeter.connectors.cursor.budget import (
    GROUP_LIMITS,
    RateBudget,
    default_budget,
    endpoint_group,
    key_id,
)
from unimeter.connectors.cursor.errors import CursorRateLimitError
from unimeter.connectors.cursor.retry import RetryPolicy
from unimeter.connectors.source import RequestStats

from .conftest import make_sim, sim_client, unlimited_budget

KEY = key_id("crsr_" + "1" * 64)
OTHER = key_id("crsr_" + "2" * 64)


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def budget_on(fake: FakeTime, **options: object) -> RateBudget:
    return RateBudget(clock=fake.clock, sleep=fake.sleep, **options)  # type: ignore[arg-type]


# --- classification ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("GET", "/teams/members", "admin"),
        ("POST", "/teams/daily-usage-data", "admin"),
        ("POST", "/teams/spend", "admin"),
        ("GET", "/teams/audit-logs?startTime=7d", "admin"),
        ("GET", "/teams/groups", "admin"),
        ("PATCH", "/teams/groups/group_abc/", "admin"),
        ("GET", "/settings/repo-blocklists/repos", "admin"),
        ("PUT", "/teams/model-access/providers/openai", "admin"),
        ("POST", "/teams/filtered-usage-events", "usage_events"),
        ("post", "https://api.cursor.com/teams/filtered-usage-events?x=1", "usage_events"),
        ("POST", "/organizations/filtered-usage-events", "usage_events"),
        ("POST", "/teams/user-spend-limit", "user_spend_limit"),
        ("POST", "/teams/user-spend-limits", "user_spend_limits"),
        ("POST", "/teams/remove-member", "remove_member"),
        ("GET", "/analytics/team/dau", "analytics_team"),
        ("GET", "/analytics/team/leaderboard", "analytics_team"),
        ("GET", "/analytics/team/conversation-insights", "analytics_insights"),
        ("GET", "/analytics/by-user/models", "analytics_by_user"),
        ("GET", "/analytics/ai-code/commits.csv", "ai_code"),
        ("GET", "/v0/agents", "cloud_agents"),
        ("POST", "/v1/agents/bc-1/runs", "cloud_agents"),
        ("GET", "/v1/repositories", "cloud_agents_repositories"),
        ("GET", "/something/new", "admin"),
        ("GET", "", "admin"),
    ],
)
def test_endpoint_group(method: str, path: str, group: str) -> None:
    assert endpoint_group(method, path) == group
    assert group in GROUP_LIMITS


def test_every_documented_limit() -> None:
    assert {g: GROUP_LIMITS[g] for g in ("admin", "usage_events", "remove_member")} == {
        "admin": 20,
        "usage_events": 60,
        "remove_member": 50,
    }
    assert GROUP_LIMITS["user_spend_limit"] == 250
    assert GROUP_LIMITS["analytics_team"] == 100
    assert GROUP_LIMITS["analytics_by_user"] == 50


def test_key_id_is_the_sha256_of_the_key() -> None:
    key = "crsr_" + "f" * 64
    assert key_id(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key[5:] not in key_id(key)


# --- pacing ------------------------------------------------------------------------------


def test_limit_sends_go_at_once_then_one_window_later() -> None:
    fake = FakeTime()
    budget = budget_on(fake)  # 60 s minutes, window 63 s
    delays = [budget.reserve(KEY, "admin") for _ in range(45)]
    assert delays == [0.0] * 20 + [63.0] * 20 + [126.0] * 5


def test_the_window_slides_instead_of_resetting() -> None:
    fake = FakeTime()
    budget = budget_on(fake)
    for _ in range(10):
        assert budget.reserve(KEY, "admin") == 0.0
    fake.now += 30
    for _ in range(10):
        assert budget.reserve(KEY, "admin") == 0.0
    fake.now += 10
    # The 21st send must wait until the first ten are a full window old.
    assert budget.reserve(KEY, "admin") == pytest.approx(23.0)
    fake.now += 23
    # By then only the ten sends of t+30 and the one just granted are in the window.
    assert [budget.reserve(KEY, "admin") for _ in range(9)] == [0.0] * 9
    assert budget.reserve(KEY, "admin") == pytest.approx(30.0)


def test_buckets_are_per_key_and_group() -> None:
    budget = budget_on(FakeTime(), minute_seconds=1.0, safety=1.0)
    for _ in range(20):
        budget.reserve(KEY, "admin")
    assert budget.reserve(KEY, "admin") == 1.0
    assert budget.reserve(KEY, "usage_events") == 0.0
    assert budget.reserve(OTHER, "admin") == 0.0
    assert budget.reserve(KEY, "unknown_group") == 0.0
    assert budget.limit("unknown_group") == 20


def test_penalize_blocks_the_bucket_until_retry_after() -> None:
    fake = FakeTime()
    budget = budget_on(fake)
    budget.penalize(KEY, "admin", 30.0)
    budget.penalize(KEY, "admin", 5.0)  # a shorter penalty never shortens a longer one
    assert budget.blocked_for(KEY, "admin") == 30.0
    assert budget.reserve(KEY, "admin") == 30.0
    assert budget.reserve(KEY, "usage_events") == 0.0
    fake.now += 30
    assert budget.blocked_for(KEY, "admin") == 0.0
    budget.penalize(OTHER, "admin", -3.0)
    assert budget.blocked_for(OTHER, "admin") == 0.0


async def test_acquire_sleeps_for_its_slot_and_reports_the_wait() -> None:
    fake = FakeTime()
    budget = budget_on(fake, limits={"admin": 2})
    waits = [await budget.acquire(KEY, "admin") for _ in range(5)]
    assert waits == [0.0, 0.0, 63.0, 0.0, 63.0]
    assert fake.now == 1_000.0 + 126.0


async def test_a_penalty_that_lands_while_waiting_holds_the_task_back() -> None:
    fake = FakeTime()

    async def sleep_while_another_task_gets_a_429(seconds: float) -> None:
        if fake.now == 1_000.0:
            budget.penalize(KEY, "admin", 100.0)
        fake.now += seconds

    budget = RateBudget(
        limits={"admin": 1}, clock=fake.clock, sleep=sleep_while_another_task_gets_a_429
    )
    budget.reserve(KEY, "admin")
    # Its slot at +63 s is given back; the penalty, not a second window, sets the wait.
    assert await budget.acquire(KEY, "admin") == 100.0
    assert fake.now == 1_100.0


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    fake = FakeTime()
    sleeping = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()

    budget = RateBudget(limits={"admin": 1}, clock=fake.clock, sleep=sleep_forever)
    budget.reserve(KEY, "admin")
    waiter = asyncio.create_task(budget.acquire(KEY, "admin"))
    await sleeping.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # Only the first send counts: the next slot is one window after it, not two.
    assert budget.reserve(KEY, "admin") == 63.0


def test_one_budget_serves_several_event_loops_and_threads() -> None:
    budget = RateBudget(limits={"admin": 4})
    waits: list[float] = []

    def run() -> None:
        waits.append(asyncio.run(budget.acquire(KEY, "admin")))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    waits.append(asyncio.run(budget.acquire(KEY, "admin")))
    assert waits == [0.0] * 4
    assert budget.reserve(KEY, "admin") > 60.0


def test_default_budget_is_one_per_minute_length() -> None:
    assert default_budget() is default_budget(60.0)
    scaled = default_budget(0.25)
    assert scaled is default_budget(0.25) and scaled is not default_budget()
    assert scaled.minute_seconds == 0.25
    assert scaled.window == pytest.approx(0.2625)


@pytest.mark.parametrize("options", [{"minute_seconds": 0}, {"safety": 0.9}])
def test_impossible_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RateBudget(**options)


# --- end to end against the simulator's real limits --------------------------------------


async def test_many_tasks_on_one_key_never_receive_a_429() -> None:
    key = "crsr_budget_test_" + "7" * 48  # not shared with any other test's default budget
    sim = make_sim(api_keys=(key,), rate_limits="real", minute_seconds=1.0)
    # No explicit budget: both clients take the process default for 1 s minutes and must
    # share it because they use the same key. A single attempt turns any 429 into a failure.
    once = RetryPolicy(max_attempts=1)
    first = sim_client(sim, budget=None, minute_seconds=1.0, retry=once)
    second = sim_client(sim, budget=None, minute_seconds=1.0, retry=once)
    async with first, second:
        calls = [client.members() for _ in range(30) for client in (first, second)]
        results = await asyncio.gather(*calls)
    assert all(r.team_members for r in results) and len(results) == 60
    total = RequestStats()
    total.merge(first.stats)
    total.merge(second.stats)
    assert total.rate_limited == 0 and total.errors == 0
    assert total.requests == sim.requests[key] == 60
    assert total.waited_seconds > 0, "the budget, not luck, kept the burst under the limit"


async def test_the_same_burst_without_a_budget_is_rate_limited() -> None:
    # The control for the test above: the simulator does enforce 20 per minute.
    sim = make_sim(rate_limits="real")
    async with sim_client(sim, budget=unlimited_budget(), retry=RetryPolicy(max_attempts=1)) as c:
        results = await asyncio.gather(*(c.members() for _ in range(21)), return_exceptions=True)
    assert sum(isinstance(r, CursorRateLimitError) for r in results) == 1
    assert c.stats.rate_limited == 1
