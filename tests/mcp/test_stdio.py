"""``unimeter mcp`` as an MCP client starts it: a process spoken to over stdio by the SDK's
own client, on a store a sync filled (SQLite: each process start costs seconds, and the
tools' SQL is covered on both backends in process by test_tools.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.mcp.support import assert_same, call, refused
from tests.support.api import api_world
from tests.support.cli import CLI, one_line_error, unimeter_exe

TIMEOUT = dt.timedelta(seconds=60)  # a deadline, not a timing: a stuck server fails the test
RANGE = {"start_date": "2026-05-01", "end_date": "2026-06-15", "granularity": "week"}


async def test_stdio_server_answers_for_its_token(sqlite_url: str, data_dir: Path) -> None:
    async with api_world(sqlite_url, data_dir) as api:
        mine, theirs = api.accounts["default"], api.accounts["other"]
        via_api = (await api.get("/analytics/consumption", integrated_account_id=mine,
                                 **RANGE)).json()  # fmt: skip
        token = api.tokens["default"]
    env = CLI(data_dir=data_dir, database_url=sqlite_url, extra_env={"UNIMETER_API_TOKEN": token})
    params = StdioServerParameters(command=unimeter_exe(), args=["mcp"], env=env.env())
    with (data_dir / "mcp.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
        ):
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            assert {"list_accounts", "seats", "consumption", "chargeback"} <= set(tools)
            assert tools["seats"].annotations and tools["seats"].annotations.readOnlyHint
            assert tools["consumption"].outputSchema is not None
            listed = await call(session, "list_accounts")
            assert [a["id"] for a in listed["result"]] == [mine]
            usage = await call(session, "consumption", integrated_account_id=mine, **RANGE)
            assert_same(via_api, usage)
            missing = await refused(session, "seats", integrated_account_id=theirs)
            assert "integrated account not found" in missing


def test_stdio_server_refuses_a_bad_token_in_one_line(sqlite_url: str, data_dir: Path) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    bad = "umk_" + "x" * 40
    assert "invalid or revoked API token" in one_line_error(cli("mcp", "--token", bad), bad)
