"""``unimeter environments``, ``tokens`` and ``serve`` as a user runs them."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.cli import CLI, unimeter_exe
from tests.support.databases import SQLiteDatabases


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_environments_tokens_and_serve(sqlite_databases: SQLiteDatabases, data_dir: Path) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_databases.create())
    assert cli("environments", "create", "staging").returncode == 0
    again = cli("environments", "create", "staging")
    assert again.returncode == 1
    assert again.stderr.startswith("error: an environment named 'staging' already exists")
    names = [e["name"] for e in json.loads(cli("environments", "list", "--json").stdout)]
    assert names == ["default", "staging"]

    created = json.loads(cli("tokens", "create", "--environment", "staging", "--json").stdout)
    token = created["token"]
    assert token.startswith("umk_")
    assert cli("tokens", "create", "--environment", "nowhere").returncode == 1
    listing = cli("tokens", "list").stdout
    assert token not in listing, "only prefixes are ever shown again"
    assert token[:10] in listing

    port = _free_port()
    server = subprocess.Popen([unimeter_exe(), "serve", "--port", str(port)], env=cli.env())
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "unimeter serve did not come up"
            time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(base + "/integrated-accounts", headers=headers).json()["result"] == []
        assert httpx.get(base + "/openapi.json").json()["openapi"].startswith("3.1")
        assert httpx.get(base + "/docs").status_code == 200
        revoked = cli("tokens", "revoke", created["id"])
        assert revoked.returncode == 0
        assert httpx.get(base + "/integrated-accounts", headers=headers).status_code == 401
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert cli("tokens", "revoke", created["id"]).returncode == 1


def test_db_upgrade_on_a_new_database(tmp_path: Path) -> None:
    cli = CLI(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/new.db")
    result = cli("db", "upgrade")
    assert result.returncode == 0, result.stderr
    head = sorted(Path("src/unimeter/db/migrations/versions").glob("0*.py"))[-1].name[:4]
    assert f"database at revision {head}" in result.stdout
    again = cli("db", "upgrade")
    assert again.returncode == 0
    bad = CLI(data_dir=tmp_path / "data", database_url="mysql://nope")("db", "upgrade")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: unsupported database URL scheme")
