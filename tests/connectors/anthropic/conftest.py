"""Helpers for the Anthropic connector tests: clients on a mock transport or the simulator."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from unimeter.connectors.anthropic.budget import AdaptiveBudget
from unimeter.connectors.anthropic.client import AnthropicClient
from unimeter.connectors.anthropic.retry import RetryPolicy

# Made up, shaped like Anthropic's keys (sk-ant-admin01- + 93 url-safe characters).
ADMIN_KEY = "sk-ant-admin01-" + "Zq7" * 31
API_KEY = "sk-ant-api03-" + "Yw5" * 31

# Retries in tests must not slow the suite: tiny backoff, and retry-after capped hard.
FAST_RETRY = RetryPolicy(base_delay=0.001, max_delay=0.005, max_retry_after=0.01)

Handler = Callable[[httpx.Request], httpx.Response]


def unlimited_budget() -> AdaptiveBudget:
    """A budget that never waits, for tests about something other than pacing."""
    return AdaptiveBudget(start_rate=10**9)


def mock_client(handler: Handler, key: str = ADMIN_KEY, **options: object) -> AnthropicClient:
    """A client on ``httpx.MockTransport``, for answers the simulator never gives."""
    options.setdefault("budget", unlimited_budget())
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("base_url", "https://api.anthropic.test")
    return AnthropicClient(
        key,
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )


def error_body(kind: str, message: str) -> dict[str, object]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}
