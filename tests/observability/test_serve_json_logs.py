"""``unimeter serve --log-format json`` as a real process: everything it writes is a JSON
line, and no secret reaches it."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.cli import CLI, unimeter_exe
from tests.support.databases import SQLiteDatabases
from tests.support.live import serve
from tests.support.world import make_sim
from unimeter.app import open_runtime
from unimeter.auth.service import create_token
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import create_app as simulator_app
from unimeter.kit.crypto import MasterKey
from unimeter.kit.keys import ENV_VAR as SECRET_KEY_VAR


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- unimeter serve --log-format json ---------------------------------------------------


async def _token(settings: Settings) -> str:
    runtime = await open_runtime(settings)
    try:
        _, plaintext = await create_token(runtime)
    finally:
        await runtime.close()
    return plaintext


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, timeout: float, log: Path) -> None:
    """Poll ``/healthz`` until it answers; waiting on the process paces the loop and fails
    fast if the server exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"unimeter serve did not come up:\n{log.read_text()[-2000:]}")
        try:
            code = proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"unimeter serve exited with {code}:\n{log.read_text()[-2000:]}")


def test_serve_with_json_logs_writes_only_json_lines_without_secrets(
    sqlite_databases: SQLiteDatabases,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret_key = MasterKey.generate().to_b64()
    database_url = sqlite_databases.create()
    monkeypatch.setenv(SECRET_KEY_VAR, secret_key)  # for the in-process token creation
    token = asyncio.run(_token(Settings(data_dir=data_dir, database_url=database_url)))

    accepted, rejected = "crsr_" + "1" * 64, "crsr_" + "7d3a" * 16
    bogus_token = "umk_" + "Zq8WnT3vLx5RbY2kMd7H"
    env = CLI(
        data_dir=data_dir,
        database_url=database_url,
        extra_env={
            SECRET_KEY_VAR: secret_key,
            # DEBUG: every library's records go through the handler, not just warnings.
            "UNIMETER_LOG_LEVEL": "DEBUG",
            "UNIMETER_LOG_FORMAT": "text",  # the flag must win over the environment
            "UNIMETER_ALLOW_PRIVATE_URLS": "1",
        },
    ).env()
    secrets = [secret_key, token, rejected, bogus_token]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.err"
    sim = make_sim(api_keys=(accepted,), users=3, days=2)
    with (
        serve(simulator_app(sim)) as cursor_url,
        out_path.open("wb") as out,
        err_path.open("wb") as err,
    ):
        proc = subprocess.Popen(
            [unimeter_exe(), "serve", "--log-format", "json", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            _wait_healthy(proc, base, timeout=30, log=err_path)
            auth = {"Authorization": f"Bearer {token}"}
            listed = httpx.get(base + "/integrated-accounts", headers=auth, timeout=10)
            assert listed.status_code == 200, listed.text
            link = {
                "integration": "cursor",
                "credentials": {"api_key": rejected},
                "tenant_id": "tenant-1",
                "base_url": cursor_url,
                "sync_frequency_minutes": None,
            }
            linked = httpx.post(base + "/integrated-accounts", json=link, headers=auth, timeout=10)
            assert linked.status_code == 422, linked.text
            bogus = {"Authorization": f"Bearer {bogus_token}"}
            assert httpx.get(base + "/integrated-accounts", headers=bogus).status_code == 401
            # Not HTTP at all: uvicorn answers 400 and logs a warning of its own.
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                raw.sendall(b"NOT-HTTP \x00\r\n\r\n")
                with raw.makefile("rb") as reply:
                    assert reply.readline().startswith(b"HTTP/1.1 400")
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    stdout, stderr = out_path.read_text(), err_path.read_text()
    assert _lines(stdout) == [], "logs go to stderr only"
    entries = []
    for line in _lines(stderr):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(entry, dict)
        assert {"ts", "level", "logger", "message"} <= entry.keys(), line
        entries.append(entry)
    for secret in secrets:
        assert secret not in stderr
    loggers = {e["logger"] for e in entries}
    # Records from uvicorn, from our code (the rejected key) and from libraries all came
    # through the one JSON handler.
    assert any(
        e["logger"] == "uvicorn.error" and e["message"] == "Invalid HTTP request received."
        for e in entries
    ), loggers
    assert "unimeter.cursor" in loggers, loggers
    assert "httpcore.connection" in loggers, loggers  # the link checked the key with httpx
    # At INFO and below, uvicorn's access log comes through the same handler.
    assert any(e["logger"] == "uvicorn.access" and "/healthz" in e["message"] for e in entries)
