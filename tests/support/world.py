"""A simulated Cursor plus an opened unimeter runtime pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import serve
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.budget import RateBudget
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.retry import RetryPolicy
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig, create_app
from unimeter.connectors.registration import default_registry
from unimeter.runtime import Runtime

# 2026-06-15T12:34:56Z, a Monday afternoon.
NOW_MS = 1_781_526_896_000
SIM_BASE_URL = "http://cursor.sim"
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)


def make_sim(**overrides: Any) -> SimulatedCursor:
    settings: dict[str, Any] = {
        "seed": 7,
        "now_ms": NOW_MS,
        "users": 25,
        "days": 45,
        "rate_limits": "off",
        # A team with no tracked commits and no cloud agents: reading every AI change and
        # every agent's runs is many small reads, so the tests about them turn them on.
        "enterprise_apis": False,
    }
    settings.update(overrides)
    return SimulatedCursor(SimulatorConfig(**settings))


@dataclass
class World:
    sim: SimulatedCursor
    runtime: Runtime
    base_url: str

    async def link(self, key: str | None = None, **fields: Any) -> str:
        request = LinkRequest(
            integration="cursor",
            credentials=key or self.sim.keys[0],
            base_url=self.base_url,
            **fields,
        )
        return (await link_account(self.runtime, request)).id


@contextmanager
def endpoint(
    sim: SimulatedCursor, transport: str
) -> Iterator[tuple[str, httpx.AsyncBaseTransport | None]]:
    """Where the runtime reaches the simulator: in process, or over real HTTP."""
    if transport == "http":
        with serve(create_app(sim)) as base_url:
            yield base_url, None
    else:
        yield SIM_BASE_URL, httpx.ASGITransport(app=create_app(sim))


@asynccontextmanager
async def world(
    database_url: str,
    data_dir: Path,
    *,
    sim: SimulatedCursor | None = None,
    transport: str = "asgi",
    minute_seconds: float = 0.05,
    retry: RetryPolicy = FAST_RETRY,
    timeout: float = 10.0,
    **settings: Any,
) -> AsyncIterator[World]:
    sim = sim or make_sim()
    with endpoint(sim, transport) as (base_url, asgi):
        # A budget of its own: a 429 another test provoked must not hold this one up.
        connector = CursorConnector(
            minute_seconds=minute_seconds,
            transport=asgi,
            retry=retry,
            timeout=timeout,
            budget=RateBudget(minute_seconds=minute_seconds),
        )
        config = Settings(data_dir=data_dir, database_url=database_url, **settings)
        runtime = await open_runtime(
            config, registry=default_registry(connector), clock=sim.clock.now_ms
        )
        try:
            yield World(sim=sim, runtime=runtime, base_url=base_url)
        finally:
            await runtime.close()
