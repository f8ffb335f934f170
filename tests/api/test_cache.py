"""The response cache: served only while the account's data is unchanged, per caller."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.api import api_world
from unimeter.api.cache import ResponseCache
from unimeter.auth.service import create_token
from unimeter.sync.service import sync_account

USAGE = "/unified/usage-metering/usage"


def _cache(app: object) -> ResponseCache:
    stack = app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(stack, ResponseCache):
        stack = stack.app
    return stack


async def test_etag_revalidation_and_invalidation_by_sync(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        params = {
            "integrated_account_id": account,
            "start_date": "2026-06-14",
            "end_date": "2026-06-16",
        }
        first = await api.get(USAGE, **params)
        etag = first.headers["etag"]
        cache = _cache(api.app)
        hits = cache.hits
        again = await api.get(USAGE, **params)
        assert again.content == first.content
        assert cache.hits == hits + 1
        not_modified = await api.client.get(
            USAGE, params=params, headers={**api.auth(), "If-None-Match": etag}
        )
        assert not_modified.status_code == 304
        assert not_modified.content == b""

        api.sim.clock.advance(hours=2)  # new events for today
        await sync_account(api.world.runtime, account)
        deadline = time.monotonic() + 5  # a version read is trusted for 250 ms at most
        while True:
            fresh = await api.get(USAGE, **params)
            if fresh.headers["etag"] != etag:
                break
            assert time.monotonic() < deadline, "the cache kept serving data older than the sync"
        assert fresh.content != first.content
        stale = await api.client.get(
            USAGE, params=params, headers={**api.auth(), "If-None-Match": etag}
        )
        assert stale.status_code == 200


async def test_entries_are_per_caller(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        mine = await api.get(USAGE, integrated_account_id=account)
        assert mine.status_code == 200
        other = await api.get(USAGE, env="other", integrated_account_id=account)
        assert other.status_code == 404, "a cached answer is never served to another environment"
        _, second = await create_token(api.world.runtime, "default")
        same_env = await api.client.get(
            USAGE,
            params={"integrated_account_id": account},
            headers={"Authorization": f"Bearer {second}"},
        )
        assert same_env.content == mine.content
