"""``unimeter simulator`` as a user runs it: a real process answering real HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from unimeter.connectors.cursor.simulator import default_api_key

READ_ONLY = "crsr_" + "r" * 64


def _unimeter() -> list[str]:
    exe = shutil.which("unimeter", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "unimeter"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _simulator(*options: str) -> Iterator[tuple[str, list[str]]]:
    """A running ``unimeter simulator``: its base URL, and (once it stopped) its output."""
    port = _free_port()
    proc = subprocess.Popen(
        [*_unimeter(), "simulator", "--port", str(port), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        yield f"http://127.0.0.1:{port}", output
    finally:
        proc.send_signal(signal.SIGINT)
        output.append(proc.communicate(timeout=20)[0])


def _once_up(send: Callable[[], httpx.Response]) -> httpx.Response:
    """The first answer of a simulator that is starting (polled with a deadline)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return send()
        except httpx.TransportError:
            assert time.monotonic() < deadline, "simulator did not start"
            time.sleep(0.05)


def test_simulator_command_answers_the_readme_curl() -> None:
    key = default_api_key(9)
    with _simulator("--seed", "9", "--users", "12", "--read-only-key", READ_ONLY) as (base, out):
        response = _once_up(
            lambda: httpx.post(
                f"{base}/teams/filtered-usage-events",
                auth=(key, ""),
                headers={"content-type": "application/json"},
                content=b"{}",
            )
        )
        assert response.status_code == 200
        body = response.json()
        assert body["totalUsageEventsCount"] > 0
        event = body["usageEvents"][0]
        assert event["timestamp"].isdigit() and "@" in event["userEmail"]
        # A key that authenticates without the admin scope: Cursor's 401 for a missing scope.
        refused = httpx.get(f"{base}/teams/members", auth=(READ_ONLY, ""))
        assert refused.status_code == 401
        assert refused.json()["message"] == "API key missing required scope: admin:*"
    assert key in out[0], "the key to use is printed"
    assert "curl -u" in out[0]
    assert f"read-only key (no admin scope): {READ_ONLY}" in out[0]


def test_force_fault_answers_every_request_with_it() -> None:
    key = default_api_key(42)
    with _simulator("--force-fault", "429", "--minute-seconds", "1") as (base, out):
        first = _once_up(lambda: httpx.get(f"{base}/teams/members", auth=(key, "")))
        for response in (first, httpx.get(f"{base}/teams/members", auth=(key, ""))):
            assert (response.status_code, response.headers["retry-after"]) == (429, "1")
            assert response.json() == {"code": "error", "message": "Rate limit exceeded"}
    assert "every request fails: --force-fault 429" in out[0]


def test_plan_team_refuses_the_enterprise_endpoints() -> None:
    key = default_api_key(42)
    with _simulator("--plan", "team", "--users", "6") as (base, out):
        members = _once_up(lambda: httpx.get(f"{base}/teams/members", auth=(key, "")))
        assert members.status_code == 200
        audit = httpx.get(f"{base}/teams/audit-logs", auth=(key, ""))
        assert audit.status_code == 403
        assert audit.json() == {"error": "Forbidden", "message": "Enterprise access required"}
    assert "(team plan)" in out[0]


@pytest.mark.parametrize(
    "args",
    [
        ["--users", "x"],
        ["--users", "1"],
        ["--now", "garbage"],
        ["--fault-rate", "2"],
        ["--rate-limits", "maybe"],
        ["--read-only-key", "has space"],
        ["--force-fault", "418"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(args: list[str]) -> None:
    result = subprocess.run(
        [*_unimeter(), "simulator", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "Traceback" not in result.stderr
