"""``unimeter simulator`` as a user runs it: a real process answering real HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

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


def test_simulator_command_answers_the_readme_curl() -> None:
    port = _free_port()
    options = ["--port", str(port), "--seed", "9", "--users", "12", "--read-only-key", READ_ONLY]
    proc = subprocess.Popen(
        [*_unimeter(), "simulator", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = default_api_key(9)
        deadline = time.monotonic() + 30
        response = None
        while response is None:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "simulator did not start"
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/teams/filtered-usage-events",
                    auth=(key, ""),
                    headers={"content-type": "application/json"},
                    content=b"{}",
                )
            except httpx.TransportError:
                time.sleep(0.05)
        assert response.status_code == 200
        body = response.json()
        assert body["totalUsageEventsCount"] > 0
        event = body["usageEvents"][0]
        assert event["timestamp"].isdigit() and "@" in event["userEmail"]
        # A key that authenticates without the admin scope: Cursor's 401 for a missing scope.
        refused = httpx.get(f"http://127.0.0.1:{port}/teams/members", auth=(READ_ONLY, ""))
        assert refused.status_code == 401
        assert refused.json()["message"] == "API key missing required scope: admin:*"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert key in out, "the key to use is printed"
    assert "curl -u" in out
    assert f"read-only key (no admin scope): {READ_ONLY}" in out


def test_force_fault_answers_every_request_with_it() -> None:
    port = _free_port()
    options = ["--port", str(port), "--force-fault", "429", "--minute-seconds", "1"]
    proc = subprocess.Popen(
        [*_unimeter(), "simulator", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        key = default_api_key(42)
        deadline = time.monotonic() + 30
        answers: list[httpx.Response] = []
        while len(answers) < 2:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "simulator did not start"
            try:
                answers.append(httpx.get(f"http://127.0.0.1:{port}/teams/members", auth=(key, "")))
            except httpx.TransportError:
                time.sleep(0.05)
        for response in answers:
            assert (response.status_code, response.headers["retry-after"]) == (429, "1")
            assert response.json() == {"code": "error", "message": "Rate limit exceeded"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert "every request fails: --force-fault 429" in out


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
