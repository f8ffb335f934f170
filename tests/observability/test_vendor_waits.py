"""``unimeter_vendor_wait_seconds``: what a connector's client waited before a request went
out, on its rate budget or for a retry's ``Retry-After``.

The clients talk to ``httpx.MockTransport`` (answers the simulators give only by chance)
and wait on a budget whose clock moves only when slept on, so a 7-second Retry-After costs
no real time and the observed seconds are exact. The registry is process-global, so every
check compares the samples before and after.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client import REGISTRY

from tests.connectors.cursor.test_budget import FakeTime  # a clock that moves when slept on
from unimeter.connectors.anthropic.budget import AdaptiveBudget
from unimeter.connectors.anthropic.client import AnthropicClient
from unimeter.connectors.anthropic.retry import RetryPolicy as AnthropicRetry
from unimeter.connectors.cursor.budget import RateBudget
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.retry import RetryPolicy as CursorRetry

Handler = Callable[[httpx.Request], httpx.Response]
FAMILY = "unimeter_vendor_wait_seconds"
MEMBERS = "/teams/members"
USERS = "/v1/organizations/users"


class Waits:
    """The wait histogram's samples for one vendor endpoint, read from the registry."""

    def __init__(self, vendor: str, endpoint: str) -> None:
        labels = {"vendor": vendor, "endpoint": endpoint}
        self.count = REGISTRY.get_sample_value(f"{FAMILY}_count", labels) or 0.0
        self.total = REGISTRY.get_sample_value(f"{FAMILY}_sum", labels) or 0.0
        self.buckets = {
            le: REGISTRY.get_sample_value(f"{FAMILY}_bucket", {**labels, "le": le}) or 0.0
            for le in ("5.0", "10.0", "60.0", "120.0")
        }

    def since(self, before: Waits) -> tuple[float, float, dict[str, float]]:
        """(observations, seconds, per-bucket observations) added after ``before``. The
        seconds are rounded to the microsecond: a difference of two running float sums
        (other tests in the process observe too) is not exact."""
        moved = {le: n - before.buckets[le] for le, n in self.buckets.items()}
        return self.count - before.count, round(self.total - before.total, 6), moved


def replies(*responses: httpx.Response) -> Handler:
    queue = list(responses)
    return lambda _: queue.pop(0)


def rate_limited(retry_after: str) -> httpx.Response:
    return httpx.Response(
        429, json={"message": "Rate limit exceeded"}, headers={"Retry-After": retry_after}
    )


def cursor_client(handler: Handler, budget: RateBudget, attempts: int = 2) -> CursorClient:
    return CursorClient(
        "crsr_" + "7" * 64,
        base_url="https://api.cursor.test",
        transport=httpx.MockTransport(handler),
        budget=budget,
        retry=CursorRetry(max_attempts=attempts, max_retry_after=60.0),
    )


async def test_a_cursor_retry_after_is_observed_as_a_wait() -> None:
    fake = FakeTime()
    budget = RateBudget(clock=fake.clock, sleep=fake.sleep)
    before = Waits("cursor", MEMBERS)
    handler = replies(rate_limited("7"), httpx.Response(200, json={"teamMembers": []}))
    async with cursor_client(handler, budget) as client:
        await client.members()
    assert Waits("cursor", MEMBERS).since(before) == (
        1.0,
        7.0,
        {"5.0": 0.0, "10.0": 1.0, "60.0": 1.0, "120.0": 1.0},
    )
    assert fake.now == 1_007.0, "the client paused on the budget's clock"


async def test_a_cursor_request_held_back_by_its_budget_is_observed() -> None:
    fake = FakeTime()
    budget = RateBudget(limits={"admin": 1}, clock=fake.clock, sleep=fake.sleep)
    before = Waits("cursor", MEMBERS)
    ok = httpx.Response(200, json={"teamMembers": []})
    async with cursor_client(replies(ok, ok), budget) as client:
        await client.members()
        first = Waits("cursor", MEMBERS).since(before)
        await client.members()  # the next slot of a one-a-minute budget: 63 s later
    assert first == (0.0, 0.0, dict.fromkeys(("5.0", "10.0", "60.0", "120.0"), 0.0))
    count, seconds, buckets = Waits("cursor", MEMBERS).since(before)
    assert (count, seconds) == (1.0, round(60.0 * 1.05, 6))
    assert buckets == {"5.0": 0.0, "10.0": 0.0, "60.0": 0.0, "120.0": 1.0}


async def test_an_anthropic_retry_after_is_observed_as_a_wait() -> None:
    fake = FakeTime()
    budget = AdaptiveBudget(start_rate=10**9, clock=fake.clock, sleep=fake.sleep)
    before = Waits("anthropic", USERS)
    handler = replies(rate_limited("7"), httpx.Response(200, json={"data": [], "has_more": False}))
    client = AnthropicClient(
        "sk-ant-admin01-" + "7" * 40,
        base_url="https://api.anthropic.test",
        transport=httpx.MockTransport(handler),
        budget=budget,
        retry=AnthropicRetry(max_attempts=2, max_retry_after=60.0),
    )
    async with client:
        assert await client.get(USERS) == {"data": [], "has_more": False}
    count, seconds, buckets = Waits("anthropic", USERS).since(before)
    assert (count, seconds) == (1.0, 7.0)
    assert buckets["5.0"] == 0.0 and buckets["10.0"] == 1.0
