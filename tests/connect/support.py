"""Helpers for the Connect tests: a world with spare keys, link tokens and form posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import SIM_BASE_URL, make_sim

# A third team's key, linked by no one yet, and a key without the admin scope.
SPARE_KEY = "crsr_" + "3" * 64
READ_ONLY_KEY = "crsr_" + "4" * 64
UNKNOWN_KEY = "crsr_" + "5" * 64


@asynccontextmanager
async def connect_world(
    database_url: str, data_dir: Path, **settings: Any
) -> AsyncIterator[ApiWorld]:
    sim = make_sim(api_keys=(*KEYS, SPARE_KEY), read_only_keys=(READ_ONLY_KEY,))
    async with api_world(database_url, data_dir, sim=sim, synced=False, **settings) as api:
        yield api


async def new_link(api: ApiWorld, env: str = "default", **fields: Any) -> dict[str, Any]:
    body = {"tenant_id": "cust-1", "name": "Acme", "base_url": SIM_BASE_URL, **fields}
    response = await api.client.post("/link-tokens", json=body, headers=api.auth(env))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def page(link: dict[str, Any]) -> str:
    """The Connect page's path (the URL's host is the test client's)."""
    return str(urlsplit(link["url"]).path)


async def submit(api: ApiWorld, link: dict[str, Any], key: str, **fields: str) -> httpx.Response:
    return await api.client.post(page(link), data={"api_key": key, **fields})


async def accounts(api: ApiWorld, env: str = "default", **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/integrated-accounts", env=env, **params)
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]
