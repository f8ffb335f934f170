"""CursorClient's retries (backoff, Retry-After, shared 429 blocks, faults over real HTTP) and
its raw requests for the proxy."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from tests.support.live import serve
from unimeter.connectors.cursor.budget import RateBudget, key_id
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.errors import (
    CursorRateLimitError,
    CursorServerError,
    CursorUnavailableError,
)
from unimeter.connectors.cursor.retry import RetryPolicy, parse_retry_after
from unimeter.connectors.cursor.simulator import SimulatedCursor, create_app
from unimeter.connectors.source import RequestStats

from .conftest import (
    DAY_MS,
    FAST_RETRY,
    NOW_MS,
    START_MS,
    json_response,
    make_sim,
    mock_client,
    sim_client,
    unlimited_budget,
)

# --- retries -----------------------------------------------------------------------------


async def test_faulty_server_over_real_http_still_yields_the_truth() -> None:
    # Seed 1 makes this sequence of calls meet slow, dropped, truncated, 500 and 503 answers.
    sim = make_sim(seed=1, fault_rate=0.3, slow_seconds=0.6)
    truth = sim.truth()
    retry = RetryPolicy(base_delay=0.01, max_delay=0.05, max_retry_after=0.05)
    with serve(create_app(sim)) as base_url:
        async with CursorClient(
            sim.keys[0], base_url=base_url, timeout=0.3, retry=retry, budget=unlimited_budget()
        ) as client:
            members = await client.members()
            events = await client.usage_events(START_MS, NOW_MS)
            usage = await client.daily_usage(START_MS, NOW_MS, page=1, page_size=100)
            spend = await client.spend(page_size=100)
            audit = await client.audit_logs(NOW_MS - 7 * DAY_MS, NOW_MS)
            groups = await client.groups()
    assert {m.email for m in members.team_members} == {m.email for m in truth.members()}
    assert [e.raw for e in events.usage_events] == [e.payload for e in truth.events(START_MS)]
    assert [r.raw for r in usage.data] == truth.daily_usage(START_MS, NOW_MS)
    assert spend.raw["teamMemberSpend"] == truth.spend()["teamMemberSpend"]
    assert [e.raw for e in audit.events] == truth.audit_events(NOW_MS - 7 * DAY_MS, NOW_MS)
    assert groups.raw == truth.groups()
    assert client.stats.retries > 0
    assert client.stats.errors == client.stats.retries
    assert client.stats.requests == 6 + client.stats.retries
    # Every injected fault cost one failed attempt (slow ones by the 0.3 s timeout).
    assert client.stats.errors >= sum(sim.faults.injected.values())
    assert len({kind for kind, n in sim.faults.injected.items() if n}) >= 3


async def test_persistent_503_gives_a_server_error_after_max_attempts() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return json_response({"error": "Service Unavailable"}, 503)

    async with mock_client(handler) as client:
        with pytest.raises(CursorServerError) as caught:
            await client.members()
    assert calls == FAST_RETRY.max_attempts == 6
    assert client.stats == RequestStats(
        requests=6,
        retries=5,
        errors=6,
        waited_seconds=client.stats.waited_seconds,
        backoff_seconds=client.stats.backoff_seconds,
    )
    assert 0 < client.stats.backoff_seconds <= client.stats.waited_seconds
    assert caught.value.transient
    assert caught.value.status == 503
    assert str(caught.value) == (
        "Cursor GET /teams/members: HTTP 503 Service Unavailable: Service Unavailable"
        " after 6 attempts"
    )


async def test_a_429_then_success_is_retried() -> None:
    responses = [
        json_response(
            {"code": "error", "message": "Rate limit exceeded"}, 429, {"Retry-After": "0"}
        ),
        json_response({"teamMembers": [{"id": 1, "email": "a@b.c"}]}),
    ]
    async with mock_client(lambda _: responses.pop(0)) as client:
        members = await client.members()
    assert [m.email for m in members.team_members] == ["a@b.c"]
    assert client.stats == RequestStats(requests=2, retries=1, rate_limited=1)


async def test_retry_after_replaces_the_backoff() -> None:
    # Without Retry-After this policy would wait 30 s; the header says 0.
    slow_backoff = RetryPolicy(base_delay=30.0, jitter=False)
    responses = [
        json_response({"message": "Rate limit exceeded"}, 429, {"Retry-After": "0"}),
        json_response({"message": "unavailable"}, 503, {"Retry-After": "0"}),
        json_response({"teamMembers": []}),
    ]
    async with mock_client(lambda _: responses.pop(0), retry=slow_backoff) as client:
        await client.members()
    assert client.stats.retries == 2
    assert client.stats.waited_seconds == 0.0


async def test_a_final_429_blocks_the_bucket_for_every_task() -> None:
    now = [100.0]
    budget = RateBudget(clock=lambda: now[0])
    key = "crsr_" + "c" * 64
    headers = {"Retry-After": "42"}
    handler = lambda _: json_response({"message": "Rate limit exceeded"}, 429, headers)  # noqa: E731
    async with mock_client(handler, key, budget=budget, retry=RetryPolicy(max_attempts=1)) as c:
        with pytest.raises(CursorRateLimitError) as caught:
            await c.members()
    assert caught.value.retry_after == 42.0
    assert budget.blocked_for(key_id(key), "admin") == 42.0
    assert budget.blocked_for(key_id(key), "usage_events") == 0.0
    assert c.stats == RequestStats(requests=1, rate_limited=1)


async def test_truncated_json_is_retried_then_reported_as_unavailable() -> None:
    bodies = [b'{"teamMembers": [{"id"', b'{"teamMembers": []}']
    async with mock_client(lambda _: httpx.Response(200, content=bodies.pop(0))) as client:
        assert (await client.members()).team_members == []
    assert client.stats == RequestStats(
        requests=2,
        retries=1,
        errors=1,
        waited_seconds=client.stats.waited_seconds,
        backoff_seconds=client.stats.backoff_seconds,
    )
    assert 0 < client.stats.backoff_seconds <= client.stats.waited_seconds
    async with mock_client(lambda _: httpx.Response(200, content=b"<html>")) as client:
        with pytest.raises(CursorUnavailableError, match="invalid JSON body after 6 attempts"):
            await client.members()


async def test_transport_errors_are_retried_then_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with mock_client(refuse) as client:
        with pytest.raises(CursorUnavailableError) as caught:
            await client.members()
    assert caught.value.status is None and caught.value.transient
    assert "ConnectError" in str(caught.value)
    assert client.stats.requests == 6 and client.stats.errors == 6


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0.5", 0.5),
        ("Mon, 15 Jun 2026 12:35:26 GMT", 30.0),
        ("Mon, 15 Jun 2026 12:00:00 GMT", 0.0),  # a date in the past: go now
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 6, 15, 12, 34, 56, tzinfo=UTC)
    assert parse_retry_after(header, now) == seconds


def test_the_policy_honours_retry_after_and_caps_it() -> None:
    policy = RetryPolicy(max_retry_after=120.0)
    assert policy.delay_for(1, 7.0) == 7.0
    assert policy.delay_for(5, 0.0) == 0.0
    assert policy.delay_for(1, 3600.0) == 120.0


def test_backoff_is_exponential_capped_and_fully_jittered() -> None:
    steady = RetryPolicy(base_delay=0.5, max_delay=30.0, jitter=False)
    assert [steady.delay_for(n, None) for n in range(1, 9)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert steady.delay_for(10_000, None) == 30.0
    draws = iter([0.0, 0.999, 0.5])
    jittered = RetryPolicy(base_delay=0.5, max_delay=30.0, rng=lambda: next(draws))
    assert [jittered.delay_for(n, None) for n in (3, 3, 20)] == [0.0, 1.998, 15.0]
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


def test_a_compressed_minute_compresses_the_backoff_not_the_servers_retry_after() -> None:
    """With the vendor's minute at 3 s (a simulated Cursor, the demo), a retry's backoff is a
    twentieth as long; what a server asks with retry-after is on its own clock already."""
    fast = CursorConnector(minute_seconds=3.0).retry
    steady = RetryPolicy(jitter=False).on_minute(3.0)
    assert [steady.delay_for(n, None) for n in (1, 2, 20)] == [0.025, 0.05, 1.5]
    assert (fast.base_delay, fast.max_delay, fast.max_attempts) == (0.025, 1.5, 6)
    assert fast.delay_for(1, 7.0) == 7.0
    assert CursorConnector().retry == RetryPolicy()


# --- raw requests (the proxy) ------------------------------------------------------------


async def test_raw_request_returns_the_final_response_unchanged(sim: SimulatedCursor) -> None:
    async with sim_client(sim) as client:
        ok = await client.raw_request("GET", "/teams/members")
        missing = await client.raw_request("GET", "/teams/nope")
        bad = await client.raw_request(
            "post", "/teams/filtered-usage-events", content=b'{"pageSize": 5000}'
        )
    assert ok.status_code == 200 and orjson.loads(ok.content)["teamMembers"]
    assert missing.status_code == 404
    assert bad.status_code == 400 and "pageSize" in bad.json()["message"]
    assert client.stats.requests == 3


async def test_raw_request_retries_then_hands_back_the_429() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(
            {"code": "error", "message": "Rate limit exceeded"}, 429, {"Retry-After": "0"}
        )

    async with mock_client(handler, retry=RetryPolicy(max_attempts=2, base_delay=0)) as client:
        response = await client.raw_request(
            "GET", "/teams/audit-logs", params={"pageSize": 5}, headers={"X-Trace": "t1"}
        )
    assert response.status_code == 429 and response.headers["retry-after"] == "0"
    assert len(seen) == 2 and client.stats.rate_limited == 2
    assert seen[0].url.params["pageSize"] == "5" and seen[0].headers["x-trace"] == "t1"


async def test_raw_request_without_any_response_is_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    caplog.set_level(logging.DEBUG, logger="unimeter.cursor")
    async with mock_client(drop) as client:
        with pytest.raises(CursorUnavailableError, match="RemoteProtocolError") as caught:
            await client.raw_request("POST", "/teams/spend?token=s3cr3t", content=b"{}")
    assert client.stats.requests == FAST_RETRY.max_attempts
    # Query strings can carry secrets: errors and our logs name the path only.
    assert caught.value.endpoint == "/teams/spend"
    messages = [r.getMessage() for r in caplog.records if r.name == "unimeter.cursor"]
    assert len(messages) == 2 * FAST_RETRY.max_attempts  # an attempt line, then retry or give up
    assert not any("s3cr3t" in m for m in [*messages, str(caught.value)])
