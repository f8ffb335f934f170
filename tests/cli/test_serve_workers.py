"""``unimeter serve --workers N``: N processes answer requests, and exactly one of them runs
the background work (the scheduler, the senders), handed on when that process dies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.cli import CLI, unimeter_exe
from tests.support.databases import SQLiteDatabases
from tests.support.processes import children
from tests.support.server import free_port

DEADLINE_SECONDS = 60.0
LEAD_LINE = "runs the scheduler and the senders"


def _lock_holders(lock: Path) -> set[int]:
    """Processes holding an flock on ``lock``, from the kernel's table of locks."""
    if not lock.exists():
        return set()
    inode = lock.stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"
        if fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
            holders.add(int(fields[4]))
    return holders


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/readyz").status_code == 200
    except httpx.TransportError:
        return False


def _wait_for(what: str, check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _serve(cli: CLI, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """``unimeter serve --workers 2`` on ``port``, its output in ``log``."""
    command = [unimeter_exe(), "serve", "--workers", "2", "--port", str(port)]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env={**cli.env(), **env}, stdout=sink, stderr=sink)


def _started(server: subprocess.Popen[bytes], port: int) -> None:
    _wait_for("two server processes", lambda: len(set(children(server.pid))) >= 2)
    _wait_for("the server to answer", lambda: _ready(f"http://127.0.0.1:{port}"))


def test_two_processes_answer_and_one_leads(
    sqlite_databases: SQLiteDatabases, data_dir: Path, tmp_path: Path
) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    token = json.loads(cli("tokens", "create", "--json").stdout)["token"]
    port = free_port()
    log = tmp_path / "serve.log"
    server = _serve(cli, port, log, UNIMETER_LOG_LEVEL="INFO")
    lock = data_dir / "serve.lock"
    base = f"http://127.0.0.1:{port}"
    try:
        _started(server, port)
        _wait_for("one process to lead", lambda: len(_lock_holders(lock)) == 1)
        [leader] = _lock_holders(lock)
        assert leader in set(children(server.pid))
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers) as client:
            statuses = {client.get("/integrated-accounts").status_code for _ in range(40)}
        assert statuses == {200}

        os.kill(leader, signal.SIGKILL)
        _wait_for(
            "another process to lead",
            lambda: (held := _lock_holders(lock)) and leader not in held,
        )
        [successor] = _lock_holders(lock)
        assert successor in set(children(server.pid))
        # New connections, dealt in turn, meet no dead process's channel.
        assert {httpx.get(base + "/readyz").status_code for _ in range(6)} == {200}
        assert log.read_text().count(LEAD_LINE) == 2
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert set(children(server.pid)) == set()
    assert _lock_holders(lock) == set()


def _connections_held(pid: int, port: int) -> int:
    """Established TCP connections on ``port`` that process ``pid`` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            held += local_port == port and fields[3] == "01" and fields[9] in inodes
    return held


def test_connections_are_dealt_evenly(
    sqlite_databases: SQLiteDatabases, data_dir: Path, tmp_path: Path
) -> None:
    """Sixteen keep-alive connections opened one after another: each process holds eight.
    Spread by a hash of the client's port, as with SO_REUSEPORT, an even split of 16 over
    two comes about one time in five."""
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    port = free_port()
    server = _serve(cli, port, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    clients: list[httpx.Client] = []
    try:
        _started(server, port)
        for _ in range(16):
            client = httpx.Client(base_url=base)
            clients.append(client)
            assert client.get("/healthz").status_code == 200
        # (The parent has a helper child of multiprocessing's besides, holding none.)
        held = sorted(_connections_held(pid, port) for pid in children(server.pid))
        assert [count for count in held if count] == [8, 8]
    finally:
        for client in clients:
            client.close()
        server.send_signal(signal.SIGINT)
        server.wait(30)


def test_processes_stop_when_their_parent_is_killed(
    sqlite_databases: SQLiteDatabases, data_dir: Path, tmp_path: Path
) -> None:
    """The parent alone listens: a process it can no longer hand connections to stops
    rather than live on, orphaned, holding the store."""
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    port = free_port()
    server = _serve(cli, port, tmp_path / "serve.log")
    try:
        _started(server, port)
        workers = children(server.pid)
    finally:
        server.kill()
        server.wait(30)
    _wait_for("the orphaned processes to stop", lambda: not any(map(_alive, workers)))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_port_in_use_is_one_line_even_for_a_server_that_shares_it(
    sqlite_databases: SQLiteDatabases, data_dir: Path, tmp_path: Path
) -> None:
    """A second ``serve --workers`` on a running one's port says so in one line, rather than
    sharing the port (and taking half its connections) without a word."""
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    port = free_port()
    first = _serve(cli, port, tmp_path / "first.log")
    try:
        _started(first, port)
        # Its own session: were it to start serving, its processes are stopped with it.
        command = [unimeter_exe(), "serve", "--workers", "2", "--port", str(port)]
        second = subprocess.Popen(
            command, env=cli.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:
            stdout, stderr = second.communicate(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(second.pid, signal.SIGKILL)
            second.communicate()
            raise AssertionError("the second server started on the port in use") from None
        assert second.returncode != 0
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr
        assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
        assert "Traceback" not in stderr + stdout
        assert first.poll() is None, "the running server is untouched"
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(30)
