"""Analytics benchmark: latency of every analysis over 90 days of a 1,000-member team.

    python bench/analytics.py [--users 1000] [--days 90] [--scale 2.0] [--requests 100]
                              [--store DIR]

Uses the store bench/api.py builds (a 1,000-member, 90-day team synced into SQLite, kept in
.bench/), served by ``unimeter serve`` in its own process with our rate limits off. Each
analysis is requested sequentially (after 3 warm-up requests) and timed end to end over
HTTP, then the dashboard pages (each runs several analyses), signed in with the same token.
The ceiling is a bare FastAPI endpoint returning the same bytes as the seats answer, in its
own process, timed the same way in the same run. Anomaly detection (run after every sync)
is timed in-process on the same store. ``--store DIR`` serves an existing store, as in
bench/api.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _support import free_port, machine, unimeter_exe
from api import _token, bare_endpoint, ensure_store, existing_store, wait_up
from unimeter.accounts.service import get_account
from unimeter.analytics import anomalies
from unimeter.app import open_runtime
from unimeter.config import Settings

END = "2026-06-15"
START_90 = "2026-03-17"
LAST_DAY = "2026-06-14"


def queries(account: str) -> dict[str, str]:
    scope = f"integrated_account_id={account}"
    return {
        "seats (7/30-day activity, idle, never used)": f"/analytics/seats?{scope}",
        "consumption, 90 d, user x model x month": f"/analytics/consumption?{scope}"
        f"&start_date={START_90}&end_date={END}&granularity=month&limit=1000",
        "consumption, 90 d, top 10 users": f"/analytics/consumption?{scope}"
        f"&start_date={START_90}&end_date={END}&group_by[]=user&granularity=total&top=10",
        "chargeback, 90 d, team x month": f"/analytics/chargeback?{scope}"
        f"&start_date={START_90}&end_date={END}",
        "adoption, 30 d and the 30 before": f"/analytics/adoption?{scope}&end_date={END}",
        "provisioning audit": f"/analytics/audit?{scope}",
        "spend reconciliation": f"/analytics/reconciliation?{scope}",
        "anomalies, first page": f"/analytics/anomalies?{scope}",
        "team mapping": f"/analytics/team-mapping?{scope}",
    }


def pages(account: str) -> dict[str, str]:
    """Dashboard pages, looking at the store's last day (its data ends on END)."""
    view = f"account={account}&as_of={LAST_DAY}"
    return {
        "dashboard: overview": f"/app?{view}",
        "dashboard: seats": f"/app/seats?{view}",
        "dashboard: consumption, 90 d": f"/app/consumption?{view}&days=90",
        "dashboard: adoption": f"/app/adoption?{view}",
        "dashboard: audit": f"/app/audit?{view}",
        "dashboard: anomalies": f"/app/anomalies?{view}",
    }


def timings(client: httpx.Client, url: str, count: int) -> list[float]:
    for _ in range(3):
        assert client.get(url).status_code == 200
    out = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def detection_ms(store: Path, account: str) -> float:
    settings = Settings(data_dir=store, database_url=f"sqlite:///{store}/unimeter.db")
    runtime = await open_runtime(settings)
    try:
        found = await get_account(runtime, account)
        started = time.perf_counter()
        await anomalies.detect(runtime, found)
        return (time.perf_counter() - started) * 1000
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--store", help="an existing store to serve (not built or upgraded)")
    args = parser.parse_args()
    if args.store:
        store = existing_store(args.store)
    else:
        store = ensure_store(args.users, args.days, args.scale).resolve()
    account = (store / "account").read_text()
    token = asyncio.run(_token(store))
    port = free_port()
    env = {**os.environ, "UNIMETER_DATA_DIR": str(store),
           "UNIMETER_DATABASE_URL": f"sqlite:///{store}/unimeter.db",
           "UNIMETER_ACCOUNT_RATE_LIMIT": "off", "UNIMETER_TOKEN_RATE_LIMIT": "off"}  # fmt: skip
    server = subprocess.Popen(
        [unimeter_exe(), "serve", "--port", str(port), "--no-scheduler"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {}
    try:
        wait_up(base + "/healthz")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for name, path in queries(account).items():
                results[name] = timings(client, path, args.requests)
            seats_body = client.get(
                queries(account)["seats (7/30-day activity, idle, never used)"]
            ).content
        # The dashboard signs in once with the same token; its signed session cookie (never
        # the token itself) is kept by the client for the pages.
        with httpx.Client(base_url=base, timeout=120) as client:
            signed_in = client.post("/app/login", data={"token": token})
            assert signed_in.status_code == 303 and client.cookies, signed_in.text
            for name, path in pages(account).items():
                results[name] = timings(client, path, args.requests)
    finally:
        server.terminate()
        server.wait(30)
    with bare_endpoint(seats_body) as url, httpx.Client() as client:
        results["ceiling: bare FastAPI, the seats bytes"] = timings(client, url, args.requests)
    detect = asyncio.run(detection_ms(store, account))
    print(f"machine: {machine()}; {args.requests} sequential requests each; SQLite store {store}")
    for name, values in results.items():
        print(f"  {name:<46} p50 {p(values, 50):7.1f} ms  p99 {p(values, 99):7.1f} ms")
    print(f"  anomaly detection after a sync (3 days, 28-day baselines): {detect:.0f} ms")
    print("  target: p99 <= 300 ms for every analysis (dashboard pages: several analyses each)")


if __name__ == "__main__":
    main()
