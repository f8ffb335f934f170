"""``GET /metrics``: the exposition parses, and counters, histograms and gauges move as the
process works.

The prometheus registry is process-global and other tests move the same counters, so every
counter check compares a scrape before the action with one after it (gauges are set from
the database at scrape time, so their values are absolute).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import make_sim
from unimeter.connectors.cursor.retry import RetryPolicy
from unimeter.connectors.cursor.simulator import create_app as simulator_app
from unimeter.connectors.cursor.simulator.faults import Fault
from unimeter.db.base import new_id, now_ms
from unimeter.db.models import SyncLock, SyncRun
from unimeter.observability import metrics

ACCOUNT_ROUTE = "/integrated-accounts/{account_id}"
SYNC_ROUTE = "/integrated-accounts/{account_id}/sync"
USERS_ROUTE = "/unified/usage-metering/users"

# One sample: (name, sorted label pairs).
Key = tuple[str, tuple[tuple[str, str], ...]]


class Scrape:
    """The samples of one ``/metrics`` response."""

    def __init__(self, text: str) -> None:
        self.types: dict[str, str] = {}
        self.samples: dict[Key, float] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                assert key not in self.samples, f"duplicate sample {key}"
                self.samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (0 when absent: a counter not yet touched)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        return sum(
            value
            for (sample, pairs), value in self.samples.items()
            if sample == name and labels.items() <= dict(pairs).items()
        )

    def by_labels(self, name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {pairs: value for (sample, pairs), value in self.samples.items() if sample == name}


def deltas(before: Scrape, after: Scrape, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """How much each labelled sample of ``name`` moved (only those that moved)."""
    old = before.by_labels(name)
    moved = {pairs: value - old.get(pairs, 0.0) for pairs, value in after.by_labels(name).items()}
    return {pairs: change for pairs, change in moved.items() if change}


async def scrape(client: httpx.AsyncClient) -> Scrape:
    response = await client.get("/metrics")  # no token: Prometheus scrapes anonymously
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


async def sync_now(api: ApiWorld, env: str = "default") -> dict[str, object]:
    """Request an on-demand sync, wait for it, and return the finished run as the API shows it."""
    account = api.accounts[env]
    queued = await api.client.post(f"/integrated-accounts/{account}/sync", headers=api.auth(env))
    assert queued.status_code == 202, queued.text
    await api.app.state.sync_dispatch.wait_idle()
    run = await api.get(f"/sync-runs/{queued.json()['id']}", env=env)
    assert run.status_code == 200, run.text
    body: dict[str, object] = run.json()
    return body


def stream_records(run: Mapping[str, object]) -> dict[tuple[str, str], int]:
    """``{(stream, outcome): n}`` as the run row records it, for non-zero counts."""
    streams = run["streams"]
    assert isinstance(streams, dict)
    return {
        (stream, outcome): stats[outcome]
        for stream, stats in streams.items()
        for outcome in ("inserted", "updated")
        if stats[outcome]
    }


# --- the exposition ----------------------------------------------------------------------


async def test_exposition_parses_and_declares_every_family(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        await api.get("/integrated-accounts")  # at least one histogram child exists
        result = await scrape(api.client)
    assert {name: kind for name, kind in result.types.items() if name.startswith("unimeter_")} == {
        "unimeter_sync_runs": "counter",
        "unimeter_sync_records": "counter",
        "unimeter_vendor_requests": "counter",
        "unimeter_vendor_rate_limited": "counter",
        "unimeter_vendor_retries": "counter",
        "unimeter_http_request_duration_seconds": "histogram",
        "unimeter_webhook_deliveries": "counter",
        "unimeter_sync_queue_depth": "gauge",
        "unimeter_sync_running": "gauge",
        "unimeter_integrated_accounts": "gauge",
        "unimeter_webhook_outbox_pending": "gauge",
        "unimeter_vendor_wait_seconds": "histogram",
        "unimeter_notification_deliveries": "counter",
        "unimeter_notification_outbox_pending": "gauge",
        "unimeter_sync_heartbeat_age_seconds": "gauge",
    }
    names = {name for name, _ in result.samples}
    assert not {n for n in names if n.endswith("_created")}, "created timestamps are disabled"
    buckets = {
        dict(pairs)["le"]
        for (name, pairs), _ in result.samples.items()
        if name == "unimeter_http_request_duration_seconds_bucket"
    }
    assert {"0.005", "10.0", "+Inf"} <= buckets


# --- counters ----------------------------------------------------------------------------


async def test_on_demand_sync_moves_run_record_and_vendor_counters(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        sim_before = sum(api.sim.requests.values())
        before = await scrape(api.client)
        run = await sync_now(api)
        after = await scrape(api.client)
        sim_requests = sum(api.sim.requests.values()) - sim_before

    assert run["status"] == "succeeded"
    assert deltas(before, after, "unimeter_sync_runs_total") == {
        (("status", "succeeded"), ("trigger", "api")): 1.0
    }

    records = {
        (labels["stream"], labels["outcome"]): change
        for pairs, change in deltas(before, after, "unimeter_sync_records_total").items()
        for labels in [dict(pairs)]
    }
    assert records == stream_records(run)
    assert sum(records.values()) > 0, "a first sync writes records"

    requests = deltas(before, after, "unimeter_vendor_requests_total")
    assert sum(requests.values()) == run["requests"] == sim_requests > 0
    for pairs in requests:
        labels = dict(pairs)
        assert labels["vendor"] == "cursor"
        assert labels["status"] == "200", "no faults, no rate limits: every attempt succeeded"
        assert labels["endpoint"].startswith(("/teams/", "/analytics/", "/v0/", "/v1/"))
    assert not deltas(before, after, "unimeter_vendor_retries_total")
    assert not deltas(before, after, "unimeter_vendor_rate_limited_total")


async def test_rate_limited_attempts_count_429s_and_retries(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(api_keys=KEYS, rate_limits="real", minute_seconds=60)
    # Three attempts, no waiting: Retry-After (up to 60 s) is capped at zero.
    three_tries = RetryPolicy(max_attempts=3, base_delay=0.0, max_retry_after=0.0)
    async with api_world(database_url, data_dir, sim=sim, synced=False, retry=three_tries) as api:
        # Another tool spends the team's admin budget for this (60 s) minute.
        transport = httpx.ASGITransport(app=simulator_app(sim))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://cursor.sim", auth=(KEYS[0], "")
        ) as other:
            # A fixed rate-limit minute may end between spending the budget and the call;
            # then the call succeeds and the budget is spent again (at most twice more).
            for _ in range(3):
                while (await other.get("/teams/members")).status_code != 429:
                    pass
                before = await scrape(api.client)
                limited = await api.get(
                    "/proxy/cursor/teams/members", integrated_account_id=api.accounts["default"]
                )
                after = await scrape(api.client)
                if limited.status_code != 200:
                    break

    assert limited.status_code == 429
    endpoint = (("endpoint", "/teams/members"), ("vendor", "cursor"))
    assert deltas(before, after, "unimeter_vendor_requests_total") == {
        (*endpoint[:1], ("status", "429"), endpoint[1]): 3.0
    }
    assert deltas(before, after, "unimeter_vendor_rate_limited_total") == {endpoint: 3.0}
    assert deltas(before, after, "unimeter_vendor_retries_total") == {endpoint: 2.0}


async def test_injected_faults_show_as_retries_and_error_statuses(
    database_url: str, data_dir: Path
) -> None:
    # Over real HTTP, so dropped connections are transport errors. Faults hit the n-th
    # request of a team, so with a fixed seed the totals are the same on every run.
    sim = make_sim(api_keys=KEYS, fault_rate=0.2, slow_seconds=0.01)
    async with api_world(database_url, data_dir, sim=sim, synced=False, transport="http") as api:
        injected_before = Counter(sim.faults.injected)
        before = await scrape(api.client)
        run = await sync_now(api)
        after = await scrape(api.client)
        injected = Counter(sim.faults.injected)
        injected.subtract(injected_before)

    assert run["status"] == "succeeded", run["error"]
    failures = sum(n for fault, n in injected.items() if fault is not Fault.SLOW)
    assert failures > 0, "the seed injects faults into this sync"
    retries = deltas(before, after, "unimeter_vendor_retries_total")
    # The sync succeeded, so every failed attempt was followed by one more attempt.
    assert sum(retries.values()) == run["retries"] == failures

    by_status: Counter[str] = Counter()
    for pairs, change in deltas(before, after, "unimeter_vendor_requests_total").items():
        by_status[dict(pairs)["status"]] += int(change)
    assert by_status["500"] == injected[Fault.SERVER_ERROR]
    assert by_status["502"] == injected[Fault.BAD_GATEWAY]
    assert by_status["503"] == injected[Fault.UNAVAILABLE]
    assert by_status["error"] == injected[Fault.DROPPED_CONNECTION]
    assert set(by_status) <= {"200", "500", "502", "503", "error"}
    assert by_status.total() == run["requests"]


# --- latency histogram -------------------------------------------------------------------


async def test_latency_is_labelled_by_route_template(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        before = await scrape(api.client)
        for _ in range(2):
            assert (await api.get(f"/integrated-accounts/{account}")).status_code == 200
        assert (await api.get("/integrated-accounts/acc_nope")).status_code == 404
        assert (await api.client.get("/no/such/path")).status_code == 404
        after = await scrape(api.client)

    name = "unimeter_http_request_duration_seconds_count"
    moved = deltas(before, after, name)
    route = {"method": "GET", "route": ACCOUNT_ROUTE}
    assert after.value(name, **route, status="200") - before.value(name, **route, status="200") == 2
    assert after.value(name, **route, status="404") - before.value(name, **route, status="404") == 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert after.value(name, **unmatched) - before.value(name, **unmatched) == 1
    # Raw paths never become labels: ids would make the label set unbounded.
    labels = {value for pairs in after.by_labels(name) for _, value in pairs}
    assert account not in " ".join(labels)
    assert "acc_nope" not in " ".join(labels)
    # The histogram is consistent: +Inf bucket == count, and the sum grew.
    for pairs, change in moved.items():
        labels_of = dict(pairs)
        inf = "unimeter_http_request_duration_seconds_bucket"
        assert (
            after.value(inf, **labels_of, le="+Inf") - before.value(inf, **labels_of, le="+Inf")
            == change
        )
        total = "unimeter_http_request_duration_seconds_sum"
        assert after.value(total, **labels_of) > before.value(total, **labels_of)


async def test_cached_responses_keep_their_route_label(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=True) as api:
        account = api.accounts["default"]
        before = await scrape(api.client)
        first = await api.get(USERS_ROUTE, integrated_account_id=account)
        second = await api.get(USERS_ROUTE, integrated_account_id=account)
        conditional = await api.client.get(
            USERS_ROUTE,
            params={"integrated_account_id": account},
            headers={**api.auth(), "If-None-Match": first.headers["etag"]},
        )
        after = await scrape(api.client)

    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert conditional.status_code == 304
    name = "unimeter_http_request_duration_seconds_count"
    route = {"method": "GET", "route": USERS_ROUTE}
    assert after.value(name, **route, status="200") - before.value(name, **route, status="200") == 2
    assert after.value(name, **route, status="304") - before.value(name, **route, status="304") == 1
    unmatched = deltas(before, after, name)
    assert not [pairs for pairs in unmatched if dict(pairs)["route"] == "unmatched"]


# --- gauges ------------------------------------------------------------------------------


async def test_gauges_describe_the_deployment(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False, allow_private_webhooks=True) as api:
        start = await scrape(api.client)
        assert start.value("unimeter_integrated_accounts", status="active") == len(api.accounts)
        assert len(api.accounts) == 2
        assert start.value("unimeter_integrated_accounts", status="needs_reauth") == 0
        assert start.value("unimeter_sync_queue_depth") == 0
        assert start.value("unimeter_sync_running") == 0
        assert start.value("unimeter_webhook_outbox_pending") == 0

        # A run queued by a process that has not started it yet.
        account = api.accounts["default"]
        async with api.world.runtime.db.session() as session:
            session.add(
                SyncRun(id=new_id("run"), account_id=account, status="queued", trigger="api")
            )
        queued = await scrape(api.client)
        assert queued.value("unimeter_sync_queue_depth") == 1
        assert queued.value("unimeter_sync_running") == 0

        assert await api.app.state.sync_dispatch.recover() == 1
        await api.app.state.sync_dispatch.wait_idle()
        done = await scrape(api.client)
        assert done.value("unimeter_sync_queue_depth") == 0
        assert deltas(queued, done, "unimeter_sync_runs_total") == {
            (("status", "succeeded"), ("trigger", "api")): 1.0
        }

        # A revoked key moves the account from active to needs_reauth.
        api.sim.revoke(KEYS[0])
        failed = await sync_now(api)
        assert failed["status"] == "failed"
        revoked = await scrape(api.client)
        assert revoked.value("unimeter_integrated_accounts", status="active") == 1
        assert revoked.value("unimeter_integrated_accounts", status="needs_reauth") == 1
        assert deltas(done, revoked, "unimeter_sync_runs_total") == {
            (("status", "failed"), ("trigger", "api")): 1.0
        }

        # Webhook deliveries wait in the outbox (no dispatcher runs in this app).
        hook = await api.client.post(
            "/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=api.auth()
        )
        assert hook.status_code == 201, hook.text
        for _ in range(2):
            sent = await api.client.post(f"/webhooks/{hook.json()['id']}/test", headers=api.auth())
            assert sent.status_code == 202, sent.text
        outbox = await scrape(api.client)
        assert outbox.value("unimeter_webhook_outbox_pending") == 2


async def test_heartbeat_age_shows_a_sync_whose_worker_stopped(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        assert (await scrape(api.client)).value("unimeter_sync_heartbeat_age_seconds") == 0
        # A worker took the lock five minutes ago and has not renewed it since.
        account, run_id = api.accounts["default"], new_id("run")
        stale = now_ms() - 300_000
        async with api.world.runtime.db.session() as session:
            session.add(SyncRun(id=run_id, account_id=account, status="running", trigger="api"))
            await session.flush()
            session.add(
                SyncLock(
                    account_id=account,
                    run_id=run_id,
                    holder="elsewhere:1",
                    acquired_at=stale,
                    heartbeat_at=stale,
                )
            )
        stalled = (await scrape(api.client)).value("unimeter_sync_heartbeat_age_seconds")
        assert 300 <= stalled < 600
        async with api.world.runtime.db.session() as session:
            await session.execute(delete(SyncLock))
        assert (await scrape(api.client)).value("unimeter_sync_heartbeat_age_seconds") == 0


# --- vendor endpoint labels --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("/teams/groups/123", "/teams/groups/{id}"),
        ("/teams/groups/123/members", "/teams/groups/{id}/members"),
        ("/teams/groups/0123abcdef", "/teams/groups/{id}"),
        ("/teams/groups/grp_0123abcd", "/teams/groups/{id}"),
        ("/teams/groups/group_4omhdwp9fdONdeyB", "/teams/groups/{id}"),
        ("/teams/members", "/teams/members"),
        ("/teams/daily-usage-data", "/teams/daily-usage-data"),
        ("/teams/audit-logs?startTime=1&endTime=2", "/teams/audit-logs"),
        # API versions and snake_case route words are words, not ids.
        ("/v1/agents/bc-1f0c2a9e/runs", "/v1/agents/{id}/runs"),
        (
            "/v1/organizations/usage_report/claude_code",
            "/v1/organizations/usage_report/claude_code",
        ),
        ("/v1/organizations/users/user_01WCz1Fk", "/v1/organizations/users/{id}"),
        ("/analytics/ai-code/commits.csv", "/analytics/ai-code/commits.csv"),
    ],
)
def test_endpoint_label_folds_ids(path: str, label: str) -> None:
    assert metrics.endpoint_label(path) == label


async def test_proxied_group_ids_are_folded_in_vendor_labels(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        groups = await api.get("/proxy/cursor/teams/groups", integrated_account_id=account)
        group_id = groups.json()["groups"][0]["id"]
        before = await scrape(api.client)
        one = await api.get(f"/proxy/cursor/teams/groups/{group_id}", integrated_account_id=account)
        assert one.status_code == 200, one.text
        after = await scrape(api.client)
    endpoints = {
        dict(pairs)["endpoint"] for pairs in deltas(before, after, "unimeter_vendor_requests_total")
    }
    assert endpoints == {"/teams/groups/{id}"}
