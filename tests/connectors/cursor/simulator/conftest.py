from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig, create_app

# A fixed "now" keeps every test deterministic: 2026-06-15T12:34:56Z.
NOW_MS = 1_781_526_896_000


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


def client_for(sim: SimulatedCursor, key: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(sim)),
        base_url="http://cursor.test",
        auth=(key or sim.keys[0], ""),
    )


@pytest.fixture
def sim() -> SimulatedCursor:
    return make_sim()


@pytest.fixture
async def client(sim: SimulatedCursor) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim) as c:
        yield c


@pytest.fixture
def key(sim: SimulatedCursor) -> str:
    return sim.keys[0]
