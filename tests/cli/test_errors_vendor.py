"""Every command that calls Cursor fails in one line when Cursor refuses or stays down.

The simulator answers every request with one fault (``force_fault``): a revoked key (401),
a plan without the endpoint (403), a wrong path (404), a rate limit that never resets
(429), an outage (5xx), a dropped connection, an HTML page instead of JSON; and a port
where nothing listens at all. Each command runs as a real process over real HTTP.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import CLI, one_line_error
from tests.support.live import serve
from tests.support.server import free_port
from tests.support.world import make_sim
from unimeter.connectors.cursor.simulator import Fault, SimulatedCursor, create_app

# One simulated minute is one second: a forced 429 asks to retry after 1 s, not 60.
SIM = {"seed": 5, "users": 5, "days": 5, "minute_seconds": 1.0}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatedCursor, str]]:
    sim = make_sim(**SIM)
    with serve(create_app(sim)) as base_url:
        yield sim, base_url


@pytest.fixture
def cursor(served: tuple[SimulatedCursor, str]) -> Iterator[tuple[SimulatedCursor, str]]:
    """The module's simulator, answering normally again after each test."""
    yield served
    served[0].faults.forced = None


@pytest.fixture
def cli(sqlite_url: str, data_dir: Path) -> CLI:
    return CLI(data_dir=data_dir, database_url=sqlite_url)


def _link(cli: CLI, key: str, base_url: str) -> str:
    linked = cli("accounts", "link", "cursor", "--api-key", key, "--base-url", base_url, "--json")
    assert linked.returncode == 0, linked.stderr
    return str(json.loads(linked.stdout)["id"])


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (Fault.UNAUTHORIZED, "rejected the API key"),
        (Fault.FORBIDDEN, "no admin access"),
        (Fault.NOT_FOUND, "404"),
        (Fault.RATE_LIMITED, "429"),
        (Fault.SERVER_ERROR, "500"),
        (Fault.BAD_GATEWAY, "502"),
        (Fault.UNAVAILABLE, "503"),
        (Fault.DROPPED_CONNECTION, "could not reach Cursor"),
        (Fault.TRUNCATED_BODY, "invalid JSON"),
        (Fault.NOT_JSON, "invalid JSON"),
    ],
)
def test_link_fails_in_one_line_and_stores_nothing(
    cli: CLI, cursor: tuple[SimulatedCursor, str], fault: Fault, fragment: str
) -> None:
    sim, base_url = cursor
    key = sim.keys[0]
    sim.faults.forced = fault
    result = cli("accounts", "link", "cursor", "--api-key", key, "--base-url", base_url)
    assert fragment in one_line_error(result, key)
    with closing(sqlite3.connect(cli.database_url.removeprefix("sqlite:///"))) as db:
        assert db.execute("SELECT count(*) FROM integrated_accounts").fetchone() == (0,)


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        (Fault.UNAUTHORIZED, "rejected the API key"),
        (Fault.FORBIDDEN, "403"),
        (Fault.NOT_FOUND, "404"),
        (Fault.RATE_LIMITED, "429"),
        (Fault.UNAVAILABLE, "503"),
        (Fault.DROPPED_CONNECTION, "unavailable"),
        (Fault.NOT_JSON, "invalid JSON"),
    ],
)
def test_sync_fails_in_one_line(
    cli: CLI, cursor: tuple[SimulatedCursor, str], fault: Fault, fragment: str
) -> None:
    sim, base_url = cursor
    key = sim.keys[0]
    account = _link(cli, key, base_url)
    sim.faults.forced = fault
    line = one_line_error(cli("sync", account), key)
    assert line.startswith(f"error: sync of {account} failed: ")
    assert fragment in line


def test_a_revoked_key_leaves_the_account_waiting_for_a_new_one(
    cli: CLI, cursor: tuple[SimulatedCursor, str]
) -> None:
    sim, base_url = cursor
    account = _link(cli, sim.keys[0], base_url)
    sim.faults.forced = Fault.UNAUTHORIZED
    assert "PATCH /integrated-accounts" in one_line_error(cli("sync", account), sim.keys[0])
    [stored] = json.loads(cli("accounts", "list", "--json").stdout)
    assert stored["status"] == "needs_reauth"
    sim.faults.forced = None  # even once Cursor answers again, no call goes out with it
    assert "needs new credentials" in one_line_error(cli("sync", account))


def test_sync_of_an_unreachable_cursor_is_one_line(
    cli: CLI, cursor: tuple[SimulatedCursor, str]
) -> None:
    sim, _ = cursor
    with serve(create_app(sim)) as base_url:
        account = _link(cli, sim.keys[0], base_url)
    # The server is gone: every connection is refused.
    line = one_line_error(cli("sync", account), sim.keys[0])
    assert "ConnectError" in line and "after 6 attempts" in line


def test_link_to_a_port_nobody_listens_on_is_one_line(cli: CLI) -> None:
    key = "crsr_" + "c" * 64
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("accounts", "link", "cursor", "--api-key", key, "--base-url", url)
    assert "could not reach Cursor" in one_line_error(result, key)


def test_sync_all_syncs_the_healthy_accounts_and_reports_the_failed_one(
    cli: CLI, cursor: tuple[SimulatedCursor, str]
) -> None:
    sim, base_url = cursor
    healthy = _link(cli, sim.keys[0], base_url)
    other = make_sim(**SIM)
    with serve(create_app(other)) as other_url:
        failing = _link(cli, other.keys[0], other_url)
        other.faults.forced = Fault.NOT_FOUND
        result = cli("sync", "--all", "--json")
    line = one_line_error(result, sim.keys[0], other.keys[0])
    assert line.startswith(f"error: 1 of 2 syncs failed: {failing}: ")
    rows = {row["account_id"]: row for row in json.loads(result.stdout)}
    assert rows[healthy]["status"] == "succeeded"
    assert rows[failing]["status"] == "failed"
    assert "404" in rows[failing]["error"]
