"""An API app on top of a simulator-backed world: two environments, tokens, linked accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support import snapshots
from tests.support.world import World, make_sim, world
from unimeter.app import create_app
from unimeter.auth.service import create_environment, create_token
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.sync.service import sync_account

KEYS = ("crsr_" + "1" * 64, "crsr_" + "2" * 64)


@dataclass
class ApiWorld:
    world: World
    app: FastAPI
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)

    @property
    def sim(self) -> SimulatedCursor:
        return self.world.sim

    def auth(self, env: str = "default") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[env]}"}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        """GET with query ``params``; ``env=`` names the environment whose token is sent."""
        env = str(params.pop("env", "default"))
        return await self.client.get(path, params=params, headers=self.auth(env))


@asynccontextmanager
async def api_world(
    database_url: str,
    data_dir: Path,
    *,
    sim: SimulatedCursor | None = None,
    sim_options: dict[str, Any] | None = None,
    synced: bool = True,
    **settings: Any,
) -> AsyncIterator[ApiWorld]:
    """Two environments with a token and a linked account each, synced unless told not to.

    ``sim_options`` are ``make_sim`` arguments: a simulator built here is known untouched, so
    a synced world is built once per process and copied (tests/support/snapshots.py). A
    ``sim`` passed in may have been changed, so its world is always synced anew; so is one
    over real HTTP, whose simulator port each account stores."""
    options = {"api_keys": KEYS, **(sim_options or {})}
    reuse = synced and sim is None and settings.get("transport", "asgi") == "asgi"
    sim = sim or make_sim(**options)
    settings = {
        "allow_private_urls": True,
        "account_rate_limit": "off",
        "token_rate_limit": "off",
        **settings,
    }
    snapshot = None
    if reuse:

        async def populate(url: str, directory: Path) -> tuple[dict[str, str], dict[str, str]]:
            async with _api_world(url, directory, make_sim(**options), True, settings) as api:
                return api.tokens, api.accounts

        key = repr(sorted(options.items())) + repr(sorted(settings.items()))
        snapshot = await snapshots.synced_copy(database_url, data_dir, key, populate)
    async with _api_world(database_url, data_dir, sim, synced, settings, snapshot) as api:
        yield api


@asynccontextmanager
async def _api_world(
    database_url: str,
    data_dir: Path,
    sim: SimulatedCursor,
    synced: bool,
    settings: dict[str, Any],
    snapshot: snapshots.Snapshot | None = None,
) -> AsyncIterator[ApiWorld]:
    async with world(database_url, data_dir, sim=sim, **settings) as w:
        if snapshot is None:
            await create_environment(w.runtime, "other")
        app = create_app(w.runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://unimeter.test"
        ) as client:
            api = ApiWorld(world=w, app=app, client=client)
            if snapshot is None:
                await _populate(api, synced)
            else:
                api.tokens, api.accounts = dict(snapshot.tokens), dict(snapshot.accounts)
            try:
                yield api
            finally:
                await app.state.sync_dispatch.close()


async def _populate(api: ApiWorld, synced: bool) -> None:
    """A token and a linked (and maybe synced) account in each environment."""
    w = api.world
    for env, key in zip(("default", "other"), w.sim.keys, strict=False):
        api.tokens[env] = (await create_token(w.runtime, env))[1]
        api.accounts[env] = await w.link(key, tenant_id=f"tenant-{env}", environment=env)
        if synced:
            await sync_account(w.runtime, api.accounts[env])
