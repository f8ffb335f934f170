from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from unimeter.connectors.anthropic.simulator import (
    AnthropicSimConfig,
    SimulatedAnthropic,
    create_app,
)

# A fixed "now" keeps every test deterministic: 2026-06-15T12:34:56Z (a Monday).
NOW_MS = 1_781_526_896_000
TODAY = date(2026, 6, 15)
BASE = "/v1/organizations"


def make_sim(**overrides: Any) -> SimulatedAnthropic:
    settings: dict[str, Any] = {
        "seed": 7,
        "now_ms": NOW_MS,
        "users": 30,
        "days": 40,
        "rate_limit_per_minute": None,
    }
    settings.update(overrides)
    return SimulatedAnthropic(AnthropicSimConfig(**settings))


def client_for(sim: SimulatedAnthropic, key: str | None = None) -> httpx.AsyncClient:
    headers = {"anthropic-version": "2023-06-01"}
    if key != "":
        headers["x-api-key"] = key or sim.keys[0]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim)),
        base_url="https://api.anthropic.test",
        headers=headers,
    )


@pytest.fixture
def sim() -> SimulatedAnthropic:
    return make_sim()


@pytest.fixture
async def client(sim: SimulatedAnthropic) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim) as c:
        yield c
