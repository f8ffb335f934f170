"""AdaptiveBudget: pacing under the start rate, halving on 429s, slow recovery, sharing."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections import Counter

import httpx

from unimeter.connectors.anthropic.budget import AdaptiveBudget, default_budget, key_id
from unimeter.connectors.anthropic.retry import RetryPolicy

from .conftest import ADMIN_KEY, error_body, mock_client

KEY = key_id(ADMIN_KEY)
MINUTE = 60.0


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def budget_on(fake: FakeTime, **options: object) -> AdaptiveBudget:
    return AdaptiveBudget(clock=fake.clock, sleep=fake.sleep, **options)  # type: ignore[arg-type]


def most_in_a_minute(times: list[float]) -> int:
    """The most sends inside any window of one minute."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + MINUTE) for i, start in enumerate(times))


async def test_never_more_than_the_start_rate_a_minute() -> None:
    fake = FakeTime()
    budget = budget_on(fake)
    sent = []
    for _ in range(200):
        await budget.acquire(KEY)
        budget.succeeded(KEY)
        sent.append(fake.now)
    assert most_in_a_minute(sent) == 50
    assert budget.rate(KEY) == 50
    # 200 requests at 50 a minute take a bit over three (simulated) minutes.
    assert 3 * MINUTE <= sent[-1] - sent[0] < 4 * MINUTE


async def test_429s_halve_the_rate_and_successes_raise_it_slowly() -> None:
    fake = FakeTime()
    budget = budget_on(fake)
    budget.rate_limited(KEY, 5.0)
    assert budget.rate(KEY) == 25
    assert math.isclose(budget.blocked_for(KEY), 5.0)
    budget.rate_limited(KEY, 5.0)  # the same burst: no second halving
    assert budget.rate(KEY) == 25
    fake.now += 6
    budget.rate_limited(KEY, 1.0)
    assert budget.rate(KEY) == 12
    rates = []
    for _ in range(2000):
        await budget.acquire(KEY)
        budget.succeeded(KEY)
        rates.append(budget.rate(KEY))
    assert rates == sorted(rates)  # only up, one step at a time
    assert rates[0] == 12 and max(rates) == 50
    assert all(b - a <= 1 for a, b in itertools.pairwise(rates))
    for _ in range(10):
        budget.rate_limited(KEY, 0.0)
    assert budget.rate(KEY) == 2  # the floor: never zero


async def test_a_penalty_holds_every_waiter_back() -> None:
    fake = FakeTime()
    budget = budget_on(fake)
    budget.rate_limited(KEY, 30.0)
    waited = await budget.acquire(KEY)
    assert waited >= 30.0
    assert budget.blocked_for(KEY) == 0.0
    # Another key is not held back.
    assert await budget.acquire(key_id("other")) == 0.0


async def test_the_client_learns_a_lower_limit_from_429s() -> None:
    """A server that allows 20 requests a (fixed) minute: the client's rate comes down, a
    few 429s teach it, and it never sends more than 50 in any minute."""
    fake = FakeTime()
    budget = budget_on(fake)
    sent: list[float] = []
    per_minute = Counter[int]()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(fake.now)
        minute = int(fake.now // MINUTE)
        per_minute[minute] += 1
        if per_minute[minute] > 20:
            wait = str(math.ceil((minute + 1) * MINUTE - fake.now))
            body = error_body("rate_limit_error", "Number of requests has exceeded your limit")
            return httpx.Response(429, json=body, headers={"retry-after": wait})
        return httpx.Response(200, json={"id": "org"})

    retry = RetryPolicy(max_attempts=10, base_delay=1, max_delay=60, max_retry_after=60)
    async with mock_client(handler, budget=budget, retry=retry) as client:
        for _ in range(300):
            await client.get("/v1/organizations/me")
            assert budget.rate(KEY) <= 50
        stats = client.stats
    assert most_in_a_minute(sent) <= 50
    assert budget.rate(KEY) < 50
    # It learned: far fewer 429s than requests, and most of them early on.
    assert stats.rate_limited < 30
    late_start = sent[-100]
    late_429s = sum(1 for m, n in per_minute.items() if n > 20 and m * MINUTE >= late_start)
    assert late_429s <= 3


async def test_concurrent_waiters_share_one_bucket() -> None:
    fake = FakeTime()
    budget = budget_on(fake, start_rate=10)
    sent: list[float] = []

    async def one() -> None:
        await budget.acquire(KEY)
        sent.append(fake.now)

    await asyncio.gather(*(one() for _ in range(30)))
    assert len(sent) == 30
    assert most_in_a_minute(sent) <= 10


def test_the_default_budget_is_shared_per_minute_length() -> None:
    assert default_budget(1.0) is default_budget(1.0)
    assert default_budget(1.0) is not default_budget(2.0)
