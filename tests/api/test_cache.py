"""The response cache: served only while the account's data is unchanged, per caller."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import update

from tests.support.api import api_world
from unimeter.api.cache import ResponseCache, _Recent
from unimeter.auth.service import create_token
from unimeter.db.engine import Database
from unimeter.db.models import IntegratedAccount
from unimeter.sync.service import sync_account
from unimeter.tenancy import repository as tenancy

USAGE = "/unified/usage-metering/usage"
USERS = "/unified/usage-metering/users"


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
        # The sync committed in this process: the next answer is computed again, although
        # the version read above is still within the 250 ms it is trusted for.
        fresh = await api.get(USAGE, **params)
        assert fresh.headers["etag"] != etag, "the cache served data older than the sync"
        assert fresh.content != first.content
        stale = await api.client.get(
            USAGE, params=params, headers={**api.auth(), "If-None-Match": etag}
        )
        assert stale.status_code == 200


async def _rename(database: Database, account: str, name: str) -> None:
    async with database.session() as session:
        await session.execute(
            update(IntegratedAccount).where(IntegratedAccount.id == account).values(name=name)
        )
        await tenancy.bump_data_version(session, account)


async def test_a_write_in_this_process_shows_in_the_next_answer(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        for name in ("Renamed Once", "Renamed Twice"):
            # Well within the 250 ms a version read is trusted for, each time.
            await _rename(api.world.runtime.db, account, name)
            users = await api.get(USERS, integrated_account_id=account)
            assert {u["organization"]["name"] for u in users.json()["result"]} == {name}


async def test_a_write_by_another_process_shows_within_the_version_ttl(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        users = await api.get(USERS, integrated_account_id=account)
        assert "Renamed Elsewhere" not in users.text
        # Another process's Database: its commits reach this process's cache through the
        # version alone.
        elsewhere = Database(database_url)
        try:
            await _rename(elsewhere, account, "Renamed Elsewhere")
        finally:
            await elsewhere.dispose()
        deadline = time.monotonic() + 5  # a version read is trusted for 250 ms
        while "Renamed Elsewhere" not in (await api.get(USERS, integrated_account_id=account)).text:
            assert time.monotonic() < deadline, "the cache kept serving another process's old data"


async def test_a_version_read_under_way_when_it_is_forgotten_is_not_kept() -> None:
    """A version read that began before a commit may hold the old value: the requests that
    come after the commit read it again rather than trust it."""
    recent: _Recent[str, int] = _Recent(ttl=60, clock=time.monotonic)
    release, reads = asyncio.Event(), []

    async def load(value: int) -> int:
        reads.append(value)
        await release.wait()
        return value

    before = asyncio.create_task(recent.get("a", lambda: load(1)))
    while not reads:
        await asyncio.sleep(0)
    recent.forget("a")  # a commit lands while the first read is under way
    release.set()
    assert await before == 1  # the request that started first gets what it read
    assert await recent.get("a", lambda: load(2)) == 2
    assert await recent.get("a", lambda: load(3)) == 2  # trusted from now on
    assert reads == [1, 2]


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
