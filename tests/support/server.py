"""``unimeter serve`` as a real process: start it, wait until it is ready, stop or kill it."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.cli import unimeter_exe


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    env: dict[str, str], *args: str, log: Path | None = None, timeout: float = 30.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``unimeter serve`` on a free port; yields its base URL and process once ``/readyz``
    answers. A test may kill the process itself; otherwise it is stopped with SIGINT."""
    port = free_port()
    output = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [unimeter_exe(), "serve", "--port", str(port), *args],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _ready(base):
            assert proc.poll() is None, f"unimeter serve exited with {proc.returncode}"
            assert time.monotonic() < deadline, "unimeter serve did not come up"
            time.sleep(0.05)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log:
            output.close()  # type: ignore[union-attr]


def _ready(base: str) -> bool:
    try:
        return httpx.get(base + "/readyz").status_code == 200
    except httpx.TransportError:
        return False
