"""The Enterprise families' own rate limits are never exceeded: requests are counted per
simulated minute on a virtual clock that only the budget's waits move (no real time, no
timing asserts). AI Code Tracking allows 20/min per endpoint, Analytics 100/min for the
team endpoints, 50/min by user and 20/min for conversation insights."""

from __future__ import annotations

from collections import defaultdict

import httpx

from unimeter.connectors.cursor.budget import RateBudget, endpoint_bucket
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.simulator import create_app
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.windows import plan_windows

from .conftest import FAST_RETRY, make_sim

MINUTE = 60.0
DOCUMENTED = {
    "ai_code:/analytics/ai-code/commits": 20,
    "ai_code:/analytics/ai-code/changes": 20,
    "analytics_team": 100,
    "analytics_by_user": 50,
    "analytics_insights": 20,
    "cloud_agents": 60,
}


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


class Recording(httpx.AsyncBaseTransport):
    """The simulator in process, noting the virtual time and bucket of every request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, time: VirtualTime) -> None:
        self.inner, self.time = inner, time
        self.sent: dict[str, list[float]] = defaultdict(list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent[endpoint_bucket(request.method, request.url.path)].append(self.time.now)
        return await self.inner.handle_async_request(request)


def busiest_minute(times: list[float]) -> int:
    """The most requests in any 60-second span: Cursor's fixed windows never see more."""
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + MINUTE) for start in ordered)


async def test_each_family_and_endpoint_stays_within_its_documented_limit() -> None:
    sim = make_sim(plan="enterprise", enterprise_apis=True, users=8, days=45)
    time = VirtualTime()
    transport = Recording(httpx.ASGITransport(app=create_app(sim)), time)
    budget = RateBudget(minute_seconds=MINUTE, clock=time.clock, sleep=time.sleep)
    client = CursorClient(
        sim.keys[0],
        base_url="http://cursor.test",
        transport=transport,
        budget=budget,
        retry=FAST_RETRY,
    )
    now = sim.clock.now_ms()
    async with client:
        source = CursorSource(client)
        # One-day windows make many requests: several minutes' worth for every bucket.
        streams = ("ai_code_commits", "ai_code_changes", "team_analytics", "user_analytics",
                   "conversation_insights")  # fmt: skip
        for stream in streams:
            for window in plan_windows(now - 44 * 86_400_000, now, 1):
                async for _ in source.fetch(stream, window):
                    pass
            assert source.counters(stream).rate_limited == 0
    for bucket, limit in DOCUMENTED.items():
        assert budget.limit(bucket) == limit
    assert set(transport.sent) == set(DOCUMENTED) - {"cloud_agents"}
    for bucket, times in transport.sent.items():
        assert len(times) > budget.limit(bucket), f"{bucket} never needed pacing"
        assert busiest_minute(times) <= budget.limit(bucket), bucket
