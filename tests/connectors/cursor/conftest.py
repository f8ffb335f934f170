"""Helpers for the Cursor client tests: a simulator and clients wired to it in-process."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from unimeter.connectors.cursor.budget import GROUP_LIMITS, RateBudget
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.retry import RetryPolicy
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig, create_app

# 2026-06-15T12:34:56Z, frozen, so the simulator serves the same data on every run.
NOW_MS = 1_781_526_896_000
DAY_MS = 86_400_000

# Retries in tests must not slow the suite: tiny backoff, and Retry-After capped hard.
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.005, max_retry_after=0.01)

Handler = Callable[[httpx.Request], httpx.Response]

# A day-aligned window ending now: the last three days.
START_MS = (NOW_MS // DAY_MS - 2) * DAY_MS


def make_sim(**overrides: object) -> SimulatedCursor:
    settings: dict[str, object] = {
        "seed": 7,
        "now_ms": NOW_MS,
        "users": 30,
        "days": 60,
        "rate_limits": "off",
    }
    settings.update(overrides)
    return SimulatedCursor(SimulatorConfig(**settings))  # type: ignore[arg-type]


@pytest.fixture
def sim() -> SimulatedCursor:
    return make_sim()


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers=headers)


def unlimited_budget() -> RateBudget:
    """A budget that never waits, for tests about something other than pacing."""
    return RateBudget(limits=dict.fromkeys(GROUP_LIMITS, 10**9))


def sim_client(sim: SimulatedCursor, key: str | None = None, **options: object) -> CursorClient:
    """A client that reaches ``sim`` through ``httpx.ASGITransport`` (no sockets)."""
    options.setdefault("budget", unlimited_budget())
    options.setdefault("retry", FAST_RETRY)
    return CursorClient(
        key or sim.keys[0],
        base_url="http://cursor.test",
        transport=httpx.ASGITransport(app=create_app(sim)),
        **options,  # type: ignore[arg-type]
    )


def mock_client(
    handler: Handler, key: str = "crsr_" + "0" * 60 + "beef", **options: object
) -> CursorClient:
    """A client on ``httpx.MockTransport``, for responses the simulator never gives."""
    options.setdefault("budget", unlimited_budget())
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("base_url", "https://api.cursor.test")
    return CursorClient(
        key,
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )
