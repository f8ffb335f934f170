"""The pieces of ``unimeter demo``: its data directory, its simulated vendor, its ports.

The demo runs the whole product on embedded defaults against the local simulator of every
registered connector that ships one (Cursor's and Anthropic's), as one simulated company:
the same people hold a Cursor team of 60 members and an Anthropic organization, each with
120 days of history and a planted anomaly, linked to one tenant; each vendor also has a
second workspace whose credentials a newcomer pastes into the Connect page.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

from unimeter.config import Settings
from unimeter.connectors.contract import Connector
from unimeter.connectors.registration import default_registry
from unimeter.connectors.simulators import DemoWorld, SimulatedPerson
from unimeter.kit.sockets import tcp_socket

DAY_MS = 86_400_000
SEED = 42
USERS = 60
DAYS = 120
# The rate-limit minute of the demo's simulator and client budget. With Cursor's real
# limits (60-second minutes) the backfill of ~75k events (~80 pages at 60 a minute, the
# first 60 in ~12 s, then a wait for the next minute) took 91 s here, 96 s to the URL: past
# the 90-second budget. On a 10-second minute the same limits, enforced by the simulator
# and paced by the client budget exactly as against Cursor, allow 6 event pages a second,
# about what one process writes on 2 cores, so the backfill runs at full speed (~20 s) and
# scheduled syncs still show the limits at work.
MINUTE_SECONDS = 10.0
HOST = "127.0.0.1"
TENANT = "demo"
SECOND_TENANT = "demo-2"
MARKER = ".unimeter-demo"
# Files of a unimeter data directory that the demo recreates on every run.
STORE_FILES = ("unimeter.db", "unimeter.db-wal", "unimeter.db-shm", "secret.key", "secret.key.new")


class DemoError(Exception):
    """The demo cannot start; the message says why on one line."""


def day_of(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()


def data_dir() -> Path:
    """``UNIMETER_DATA_DIR`` if set, else ``.unimeter/demo`` under the current directory (the
    clone, under ``make demo``), never the platform data directory a real install uses."""
    configured = os.environ.get("UNIMETER_DATA_DIR", "").strip()
    return Path(configured) if configured else Path(".unimeter") / "demo"


def prepare_data_dir(path: Path) -> bool:
    """Make ``path`` ready for a fresh demo store; True when an earlier demo was reset.

    The simulated team is generated relative to the moment the demo starts, so an earlier
    run's store would not match it: every run starts over. A directory holding a store the
    demo did not create is refused rather than wiped."""
    path = path.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise DemoError(f"{path} is not a directory; set UNIMETER_DATA_DIR to a directory")
    marker = path / MARKER
    existing = [path / name for name in STORE_FILES if (path / name).exists()]
    if existing and not marker.exists():
        raise DemoError(
            f"{path} holds a unimeter store that the demo did not create; point "
            "UNIMETER_DATA_DIR at another directory"
        )
    for file in existing:
        file.unlink()
    path.mkdir(parents=True, exist_ok=True)
    marker.write_text("a unimeter demo: its store is reset on every run of `unimeter demo`\n")
    return bool(existing)


def settings(path: Path) -> Settings:
    # Embedded defaults whatever the environment says (SQLite in the data directory), and
    # loopback base URLs allowed: the simulator's second team is linked through the API or
    # the Connect page at http://127.0.0.1:PORT. Webhooks may go to a receiver on this
    # machine or the local network, as the README says (which private addresses the opt-in
    # covers is kit/netpolicy.py's call). The server itself listens on loopback only.
    return Settings(
        data_dir=path.expanduser().resolve(),
        database_url=None,
        auto_migrate=True,
        allow_private_urls=True,
        allow_private_webhooks=True,
    )


def worlds() -> list[tuple[Connector, DemoWorld]]:
    """Every registered vendor that ships a simulator, as one simulated company: the first
    makes the people, the others' first workspaces are built from the same people."""
    out: list[tuple[Connector, DemoWorld]] = []
    people: tuple[SimulatedPerson, ...] = ()
    for connector in default_registry().all():
        if connector.simulator is None:
            continue
        world = connector.simulator.demo(SEED, USERS, DAYS, MINUTE_SECONDS, people)
        people = people or world.people()
        out.append((connector, world))
    if not out:
        raise DemoError("no integration ships a simulator to run the demo against")
    return out


def port_from_env(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise DemoError(f"{name} must be a port number (0-65535), not {text!r}")
    return int(text)


def bind(port: int) -> socket.socket:
    """A listening socket on ``port`` of the loopback interface, or on a free port when that
    one is taken (the caller prints the port it got)."""
    for candidate in (port, 0):
        try:
            return tcp_socket(HOST, candidate)
        except OSError:
            continue
    raise DemoError(f"cannot listen on {HOST}")


def curl_examples(base: str, token: str, account_id: str, tenant: str) -> list[tuple[str, str]]:
    """Requests to try, as (what it answers, command). ``-g`` keeps curl from reading
    ``[]`` in ``group_by[]`` as a glob."""
    auth = f'-H "Authorization: Bearer {token}"'
    account = f"integrated_account_id={account_id}"
    return [
        (
            "the first workspace's users, unified",
            f'curl -s "{base}/unified/usage-metering/users?{account}&limit=5" {auth}',
        ),
        (
            "seat utilization, every tool",
            f'curl -s "{base}/analytics/seats?tenant_id={tenant}" {auth}',
        ),
        (
            "the 10 costliest people of the last 30 days, across tools",
            f'curl -sg "{base}/analytics/consumption?tenant_id={tenant}&group_by[]=user'
            f'&granularity=total&top=10" {auth}',
        ),
    ]
