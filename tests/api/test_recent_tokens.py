"""A token verified recently is checked in the query that finds the account: reads of an
account cost one query less, and a revoked token still stops working at once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import event
from starlette.types import Message, Receive, Scope, Send

from tests.support.api import api_world
from unimeter.app import create_app
from unimeter.auth.service import create_token, revoke_token
from unimeter.db.engine import Database

USERS = "/unified/usage-metering/users"


async def test_a_revoked_token_stops_reading_at_once(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        app = create_app(api.world.runtime, cache_responses=False)
        token_row, token = await create_token(api.world.runtime, "default")
        headers = {"Authorization": f"Bearer {token}"}
        params = {"integrated_account_id": account}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unimeter.test"
        ) as client:
            for _ in range(2):  # the second read is the one that trusts the first check
                assert (await client.get(USERS, params=params, headers=headers)).status_code == 200
            # Revoked the way `unimeter tokens revoke` does it, from outside this app.
            await revoke_token(api.world.runtime, token_row.id)
            refused = await client.get(USERS, params=params, headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.json()["message"] == "invalid or revoked API token"
            again = await client.get(USERS, params=params, headers=headers)
            assert again.status_code == 401


async def test_a_recent_token_still_sees_only_its_environment(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        app = create_app(api.world.runtime, cache_responses=False)
        headers = api.auth("default")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unimeter.test"
        ) as client:
            for account, status in (
                (api.accounts["default"], 200),
                (api.accounts["other"], 404),  # with the token now verified recently
                ("acc_nowhere", 404),
                (api.accounts["default"], 200),
            ):
                got = await client.get(
                    USERS, params={"integrated_account_id": account}, headers=headers
                )
                assert got.status_code == status, (account, got.text)


async def test_a_recent_tokens_read_takes_one_transaction(
    database_url: str, data_dir: Path
) -> None:
    """The token check, the account and the page share one read session (a session costs
    more than the query that checks the token)."""
    async with api_world(database_url, data_dir, synced=False) as api:
        runtime = api.world.runtime
        app = create_app(runtime, cache_responses=False)
        params = {"integrated_account_id": api.accounts["default"], "limit": "5"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://unimeter.test"
        ) as client:
            first = await client.get(USERS, params=params, headers=api.auth("default"))
            assert first.status_code == 200, first.text
            with _read_sessions(runtime.db) as opened:
                again = await client.get(USERS, params=params, headers=api.auth("default"))
        assert again.json() == first.json()
        assert opened() == 1


@contextmanager
def _read_sessions(db: Database) -> Iterator[Callable[[], int]]:
    """How many read sessions began meanwhile: SQLite's lent readers count theirs; a pooled
    session begins a transaction on the engine."""
    if db.readers is not None:
        lends, before = db.readers, db.readers.lends
        yield lambda: lends.lends - before
        return
    begun: list[object] = []

    def count(connection: object) -> None:
        begun.append(connection)

    engine = db.read_engine.sync_engine
    event.listen(engine, "begin", count)
    try:
        yield lambda: len(begun)
    finally:
        event.remove(engine, "begin", count)


def _held(db: Database) -> int:
    """Read connections held by sessions now."""
    if db.readers is not None:
        return db.readers.lent
    return int(db.read_engine.sync_engine.pool.checkedout())  # type: ignore[attr-defined]


async def test_the_read_session_is_returned_before_the_response_is_sent(
    database_url: str, data_dir: Path
) -> None:
    """A slow client must not hold a database connection while it reads its response."""
    async with api_world(database_url, data_dir, synced=False) as api:
        runtime = api.world.runtime
        app = create_app(runtime, cache_responses=False)
        held_while_sending: list[int] = []

        async def watched(scope: Scope, receive: Receive, send: Send) -> None:
            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    held_while_sending.append(_held(runtime.db))
                await send(message)

            await app(scope, receive, sending)

        params = {"integrated_account_id": api.accounts["default"]}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=watched), base_url="http://unimeter.test"
        ) as client:
            for path in (USERS, "/unified/usage-metering/usage"):
                got = await client.get(path, params=params, headers=api.auth("default"))
                assert got.status_code == 200, got.text
        assert held_while_sending == [0, 0]
