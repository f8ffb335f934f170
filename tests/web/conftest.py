"""A real ``unimeter serve`` over a synced, simulated team, for the dashboard's browser tests.

The store is prepared in process (two environments, each with a token and a synced
account, one anomaly planted yesterday, one webhook), then served by a real process. The
simulator follows the wall clock so "the last 30 days" hold data.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api import KEYS, api_world
from tests.support.cli import CLI
from tests.support.server import running_server
from tests.support.world import make_sim
from unimeter.accounts.service import environment_id
from unimeter.sync.service import sync_account
from unimeter.webhooks.service import create_webhook

DAY_MS = 86_400_000
WEBHOOK_URL = "https://hooks.example.test/unimeter"


@dataclass
class Dashboard:
    base: str
    tokens: dict[str, str]
    accounts: dict[str, str]

    def api(self, path: str, env: str = "default", **params: Any) -> Any:
        response = httpx.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[env]}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


def _heaviest_seated(sim: Any) -> str:
    truth = sim.truth(sim.keys[0])
    seated = {m.email for m in truth.members() if m.removed_ms is None}
    counts = Counter(e.email for e in truth.events() if e.email in seated)
    return str(max(sorted(counts), key=lambda email: counts[email]))


async def _prepare(url: str, data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    sim = make_sim(api_keys=KEYS, now_ms=None, users=24, days=45)
    yesterday = (sim.clock.now_ms() // DAY_MS - 1) * DAY_MS
    sim.inject_spike(KEYS[0], _heaviest_seated(sim), yesterday, factor=25)
    async with api_world(url, data_dir, sim=sim, synced=False) as api:
        env = await environment_id(api.world.runtime, "default")
        # Before the syncs, so the anomalies they find are queued for it.
        await create_webhook(
            api.world.runtime, env, url=WEBHOOK_URL, event_types=["usage:anomaly_detected"],
            is_active=True,
        )  # fmt: skip
        for account in api.accounts.values():
            await sync_account(api.world.runtime, account)
        return dict(api.tokens), dict(api.accounts)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{data_dir}/unimeter.db"
    # Its own thread: Playwright's sync API may already run an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        tokens, accounts = pool.submit(lambda: asyncio.run(_prepare(url, data_dir))).result()
    env = CLI(data_dir, url, {"UNIMETER_WEBHOOK_DISPATCHER": "0"}).env()
    with running_server(env, "--no-scheduler", log=data_dir / "serve.log") as (base, _):
        yield Dashboard(base, tokens, accounts)
