"""``unimeter serve`` on its embedded defaults (SQLite, scheduler on) with everything at once.

Eight teams sync concurrently against a rate-limited simulated Cursor, some because the API
asked, the others because the scheduler found them due; the webhook sender delivers their
events to a local receiver; anomaly detection runs after every successful sync; a Connect
link is claimed; and API and dashboard reads never stop. The embedded default must not lose
a single run to its own database lock, and must not answer a single request with a 5xx.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import CLI
from tests.support.live import serve
from tests.support.server import running_server
from tests.support.world import make_sim
from tests.webhooks.receiver import receiving
from unimeter.connectors.cursor.simulator import create_app

TEAMS = 8
KEYS = tuple("crsr_" + format(n, "x") * 64 for n in range(1, TEAMS + 2))
CONNECT_KEY = KEYS[-1]
# A rate-limit minute of one second: Cursor's per-minute limits bite within the test.
MINUTE_SECONDS = "1.0"
DEADLINE_SECONDS = 150.0
READS = (
    "/unified/usage-metering/users?integrated_account_id={account}&limit=50",
    "/unified/usage-metering/usage?integrated_account_id={account}&group_by[]=user",
    "/analytics/consumption?integrated_account_id={account}&group_by[]=user&granularity=day",
    "/analytics/seats?integrated_account_id={account}",
    "/sync-runs?integrated_account_id={account}",
)
EVENTS = [
    "integrated_account:created", "sync_run:started", "sync_run:completed", "sync_run:failed",
    "usage:anomaly_detected",
]  # fmt: skip
PAGES = ("/app", "/app/seats", "/app/consumption", "/app/anomalies", "/app/accounts")
# Between two reads of a reader: a steady stream (~1,800 reads over the test's syncs here),
# each beside them. Flat out (~12,700 reads) the readers took a core for as long as the syncs
# ran, and on a busy machine (the suite's) slowed the very syncs the test waits for.
READ_PACE_SECONDS = 0.005


class Traffic:
    """Every response the test got from the server, kept to assert on their statuses."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: list[tuple[int, str]] = []

    def record(self, response: httpx.Response) -> httpx.Response:
        with self.lock:
            self.statuses.append((response.status_code, str(response.request.url)))
        return response

    def errors(self) -> list[tuple[int, str]]:
        with self.lock:
            return [(code, url) for code, url in self.statuses if code >= 500]


@contextmanager
def readers(base: str, token: str, accounts: list[str], traffic: Traffic) -> Iterator[None]:
    """API and dashboard reads in a loop, in two threads, until the block ends."""
    stop = threading.Event()

    def api() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            while not stop.is_set():
                for account in accounts:
                    for path in READS:
                        traffic.record(c.get(path.format(account=account), timeout=60))
                        stop.wait(READ_PACE_SECONDS)

    def dashboard() -> None:
        with httpx.Client(base_url=base, cookies={"unimeter_session": token}) as c:
            while not stop.is_set():
                for account in accounts:
                    for path in PAGES:
                        traffic.record(c.get(path, params={"account": account}, timeout=60))
                        stop.wait(READ_PACE_SECONDS)

    threads = [threading.Thread(target=f, daemon=True) for f in (api, dashboard)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)


def _claim_connect_link(client: httpx.Client, sim_url: str, traffic: Traffic) -> str:
    body = {"tenant_id": "connected", "name": "Connected", "base_url": sim_url}
    link = traffic.record(client.post("/link-tokens", json=body))
    assert link.status_code == 201, link.text
    path = httpx.URL(link.json()["url"]).path
    form = traffic.record(client.get(path))
    assert form.status_code == 200 and 'name="api_key"' in form.text
    done = traffic.record(client.post(path, data={"api_key": CONNECT_KEY}))
    assert done.status_code == 200, done.text
    accounts = traffic.record(client.get("/integrated-accounts", params={"tenant_id": "connected"}))
    ids = [a["id"] for a in accounts.json()["result"]]
    assert len(ids) == 1, accounts.text
    return str(ids[0])


def _since(days: int) -> dict[str, str]:
    return {"since": time.strftime("%Y-%m-%d", time.gmtime(time.time() - days * 86_400))}


def _runs(client: httpx.Client, account: str, traffic: Traffic) -> list[dict[str, Any]]:
    response = traffic.record(
        client.get("/sync-runs", params={"integrated_account_id": account, "limit": 100})
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_embedded_server_loses_no_sync_to_its_own_lock(tmp_path: Path) -> None:
    # Wall-clock simulator: a short history (a week of a small team) keeps backfills small.
    sim = make_sim(
        api_keys=KEYS, now_ms=None, users=12, days=7, rate_limits="real",
        minute_seconds=float(MINUTE_SECONDS),
    )  # fmt: skip
    traffic = Traffic()
    cli = CLI(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'data' / 'unimeter.db'}",
        {
            "UNIMETER_CURSOR_MINUTE_SECONDS": MINUTE_SECONDS,
            "UNIMETER_ALLOW_PRIVATE_URLS": "1",
            "UNIMETER_ALLOW_PRIVATE_WEBHOOKS": "1",
            # A 15-minute cadence every 3 seconds; the scheduler looks every second.
            "UNIMETER_SCHEDULE_MINUTE_SECONDS": "0.2",
            "UNIMETER_SCHEDULER_TICK_SECONDS": "1",
            # Our own API limits stay out of the way of the readers.
            "UNIMETER_ACCOUNT_RATE_LIMIT": "off",
            "UNIMETER_TOKEN_RATE_LIMIT": "off",
        },
    )
    created = cli("tokens", "create", "--json")
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)["token"]
    log = tmp_path / "serve.log"
    with (
        serve(create_app(sim)) as sim_url,
        receiving() as receiver,
        running_server(cli.env(), log=log) as (base, _),
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c,
    ):
        hook = traffic.record(
            c.post("/webhooks", json={"url": receiver.url + "/hook", "event_types": EVENTS})
        )
        assert hook.status_code == 201, hook.text
        accounts = []
        for n, key in enumerate(KEYS[:TEAMS]):
            # Half sync on the scheduler's cadence, half only when asked.
            frequency = 15 if n % 2 == 0 else None
            body = {
                "integration": "cursor", "credentials": {"api_key": key}, "base_url": sim_url,
                "tenant_id": f"team-{n}", "sync_frequency_minutes": frequency,
            }  # fmt: skip
            linked = traffic.record(c.post("/integrated-accounts", json=body))
            assert linked.status_code == 201, linked.text
            accounts.append(linked.json()["id"])
        with readers(base, token, accounts, traffic):
            accounts.append(_claim_connect_link(c, sim_url, traffic))
            scheduled, on_demand = accounts[:TEAMS:2], accounts[1:TEAMS:2]
            asked: set[str] = set()
            deadline = time.monotonic() + DEADLINE_SECONDS
            while True:
                runs = {a: _runs(c, a, traffic) for a in accounts}
                failed = [r for rs in runs.values() for r in rs if r["status"] == "failed"]
                assert not failed, f"failed sync runs: {failed}\n{log.read_text()[-5000:]}"
                done = {a: [r for r in rs if r["status"] == "succeeded"] for a, rs in runs.items()}
                for account in on_demand:
                    # Once its first sync is over, ask again: an on-demand sync of a few days.
                    if account not in asked and done[account]:
                        asked_run = traffic.record(
                            c.post(f"/integrated-accounts/{account}/sync", json=_since(days=2))
                        )
                        assert asked_run.status_code in (202, 409), asked_run.text
                        asked.add(account)
                enough = (
                    all(any(r["trigger"] == "schedule" for r in done[a]) for a in scheduled)
                    and all(len(done[a]) >= 2 for a in on_demand)
                    and all(done[a] for a in accounts)
                    and any(r.type == "sync_run:completed" for r in receiver.received("/hook"))
                )
                if enough:
                    break
                assert time.monotonic() < deadline, f"syncs did not finish: {runs}"
                time.sleep(0.5)
    assert not traffic.errors(), traffic.errors()[:10]
    served = log.read_text()
    assert "database is locked" not in served
    assert "anomaly detection failed" not in served, served[-5000:]
    assert "post-sync hooks failed" not in served, served[-5000:]
