"""Simulator scale benchmark: start-up time, memory and page latency of a 10,000-member team.

Runs ``unimeter simulator`` as a real process and talks to it over HTTP, the way the sync
engine will. The ceiling is a bare Starlette endpoint that returns the same 1,000-event page
as precomputed bytes, served by uvicorn in a second process, measured in the same run.

    python bench/simulator.py [--users 10000] [--days 90] [--pages 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

DAY_MS = 86_400_000
NOW = "2026-06-15T12:00:00Z"
NOW_MS = 1_781_524_800_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for(url: str, auth: tuple[str, str] | None, proc: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, auth=auth, timeout=60).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            time.sleep(0.02)


def unimeter_exe() -> str:
    return str(Path(sys.executable).with_name("unimeter"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_pages(
    client: httpx.Client, windows: list[tuple[int, int]], pages: int
) -> tuple[list[float], bytes]:
    latencies: list[float] = []
    sample = b""
    per_window = max(1, pages // len(windows))
    for start, end in windows:
        body = {"startDate": start, "endDate": end, "pageSize": 1000, "page": 1}
        first = client.post("/teams/filtered-usage-events", json=body).json()
        num_pages = first["pagination"]["numPages"]
        step = max(1, num_pages // per_window)
        for page in range(1, num_pages + 1, step):
            body["page"] = page
            t0 = time.perf_counter()
            response = client.post("/teams/filtered-usage-events", json=body)
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 200
            sample = response.content
    return latencies, sample


CEILING_APP = textwrap.dedent(
    """
    import sys
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    payload = open(sys.argv[1], "rb").read()
    async def page(request):
        await request.body()
        return Response(payload, media_type="application/json")
    app = Starlette(routes=[Route("/teams/filtered-usage-events", page, methods=["POST"])])
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def ceiling(sample: bytes, requests: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp, "page.json")
        payload.write_bytes(sample)
        script = Path(tmp, "ceiling.py")
        script.write_text(CEILING_APP)
        port = free_port()
        proc = subprocess.Popen([sys.executable, str(script), str(payload), str(port)])
        try:
            url = f"http://127.0.0.1:{port}/teams/filtered-usage-events"
            while True:
                try:
                    httpx.post(url, json={})
                    break
                except httpx.TransportError:
                    time.sleep(0.02)
            latencies = []
            with httpx.Client() as client:
                for _ in range(requests):
                    t0 = time.perf_counter()
                    client.post(url, json={"pageSize": 1000})
                    latencies.append(time.perf_counter() - t0)
            return latencies
        finally:
            proc.terminate()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()

    port = free_port()
    key = "crsr_" + "0" * 64
    cmd = [
        unimeter_exe(), "simulator", "--port", str(port), "--users", str(args.users),
        "--days", str(args.days), "--now", NOW, "--rate-limits", "off", "--api-key", key,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/teams/members", (key, ""), proc)
        startup = time.perf_counter() - started
        day_end = NOW_MS // DAY_MS * DAY_MS - 1
        windows = [
            (day_end + 1 - (k + 1) * 30 * DAY_MS, day_end - k * 30 * DAY_MS) for k in range(3)
        ]
        with httpx.Client(base_url=base, auth=(key, ""), timeout=120) as client:
            t0 = time.perf_counter()
            total = client.post(
                "/teams/filtered-usage-events",
                json={"startDate": windows[0][0], "endDate": windows[0][1], "pageSize": 1},
            ).json()["totalUsageEventsCount"]
            first_window = time.perf_counter() - t0
            latencies, sample = timed_pages(client, windows, args.pages)
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    bare = ceiling(sample, len(latencies))
    median, bare_median = statistics.median(latencies), statistics.median(bare)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"team: {args.users} members, {args.days} days; events in the last 30 days: {total:,}")
    print(f"start-up to first answer (process launch included): {startup:.2f} s   target < 5 s")
    print(f"first request of a cold 30-day window: {first_window:.2f} s")
    print(f"1,000-event pages timed: {len(latencies)}, body {len(sample) / 1024:.0f} KiB")
    print(
        f"page latency: median {median * 1000:.1f} ms, p90 {percentile(latencies, 0.9) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.1f} ms   target median < 50 ms"
    )
    print(
        f"ceiling (bare endpoint, same bytes): median {bare_median * 1000:.1f} ms; "
        f"simulator / ceiling = {median / bare_median:.2f}"
    )
    print(f"peak RSS of the simulator: {rss:.0f} MB   target < 1024 MB")


if __name__ == "__main__":
    main()
