"""Helpers for the Anthropic connector tests: clients on a mock transport or the simulator."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from unimeter.connectors.anthropic.budget import AdaptiveBudget
from unimeter.connectors.anthropic.client import AnthropicClient
from unimeter.connectors.anthropic.retry import RetryPolicy
from unimeter.connectors.anthropic.simulator import SimulatedAnthropic
from unimeter.connectors.facts import NONE

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


def expected_claude_code(
    sim: SimulatedAnthropic, key: str | None = None
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Facts computed from the truth's rows, independently of the mapping."""
    truth = sim.truth(key)
    by_name: dict[str, list[str]] = defaultdict(list)
    for api_key in truth.api_keys():
        by_name[api_key["name"]].append(api_key["id"])
    expected: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    for day in truth.claude_code_days():
        for row in truth.claude_code_rows(day):
            actor = row["actor"]
            if actor["type"] == "user_actor":
                who = (actor["email_address"].lower(), NONE)
            else:
                ids = by_name[actor["api_key_name"]]
                who = (NONE, ids[0] if len(ids) == 1 else "api_key_name:" + actor["api_key_name"])
            total = expected[(day, *who, NONE, NONE, True)]
            core = row["core_metrics"]
            total["sessions"] += core["num_sessions"]
            total["lines_added"] += core["lines_of_code"]["added"]
            total["lines_removed"] += core["lines_of_code"]["removed"]
            total["commits"] += core["commits_by_claude_code"]
            total["pull_requests"] += core["pull_requests_by_claude_code"]
            for tool in row.get("tool_actions", {}).values():
                total["tool_actions_accepted"] += tool["accepted"]
                total["tool_actions_rejected"] += tool["rejected"]
            surface = (
                "cloud_agent" if row.get("is_remote")
                else "automation" if row.get("terminal_type") == "non-interactive"
                else "terminal"
            )  # fmt: skip
            for usage in row["model_breakdown"]:
                detail = expected[(day, *who, surface, usage["model"], False)]
                tokens = usage["tokens"]
                detail["input_tokens"] += tokens["input"]
                detail["output_tokens"] += tokens["output"]
                detail["cache_read_tokens"] += tokens["cache_read"]
                detail["cache_write_tokens"] += tokens["cache_creation"]
                cents = Decimal(str(usage["estimated_cost"]["amount"]))
                detail["cost_cents_e6"] += int(cents * 1_000_000)
    return {key: dict(metrics) for key, metrics in expected.items()}
