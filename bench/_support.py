"""Shared helpers for the benchmarks: free ports, a threaded server, process memory."""

from __future__ import annotations

import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def unimeter_exe() -> str:
    return str(Path(sys.executable).with_name("unimeter"))


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def simulator_process(*args: str, log: Path | None = None) -> Iterator[str]:
    """``unimeter simulator`` in its own process; yields its base URL. ``log`` keeps its
    output (else discarded)."""
    port = free_port()
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen([unimeter_exe(), "simulator", "--port", str(port), *args],
                            stdout=out, stderr=subprocess.STDOUT if log else None)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit("the simulator exited" + (f"; see {log}" if log else ""))
            try:
                httpx.get(base + "/teams/members", timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the simulator did not start in 120 s") from None
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)
