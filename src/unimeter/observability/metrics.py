"""The process's Prometheus metrics.

Counters live in each process (an API server, every worker) and each process exposes its
own: ``/metrics`` on the API, ``unimeter worker --metrics-port`` on workers. Gauges that
describe shared state (queue depth, accounts by status, the webhook outbox) are read from
the database at scrape time, so any one process reports them for the whole deployment.
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# ``*_created`` timestamps double the exposition and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

SYNC_RUNS = Counter("unimeter_sync_runs", "Sync runs finished, by outcome", ["status", "trigger"])
SYNC_RECORDS = Counter(
    "unimeter_sync_records",
    "Records written by syncs, by stream and outcome (inserted, updated)",
    ["stream", "outcome"],
)
VENDOR_REQUESTS = Counter(
    "unimeter_vendor_requests",
    "HTTP attempts sent to the vendor API, by endpoint and status (error: no response)",
    ["vendor", "endpoint", "status"],
)
VENDOR_RATE_LIMITED = Counter(
    "unimeter_vendor_rate_limited", "429 responses from the vendor API", ["vendor", "endpoint"]
)
VENDOR_RETRIES = Counter(
    "unimeter_vendor_retries", "Attempts beyond the first, by endpoint", ["vendor", "endpoint"]
)
# Waits are observed only when there is one, so ``_count`` is how often a request had to
# wait and ``_sum`` how long: seconds of the client's rate budget or of a retry's pause
# (the vendor's Retry-After on a 429).
VENDOR_WAIT = Histogram(
    "unimeter_vendor_wait_seconds",
    "Seconds a vendor API request waited before it was sent (rate budget, Retry-After, backoff)",
    ["vendor", "endpoint"],
    buckets=(0.01, 0.05, 0.25, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)
API_LATENCY = Histogram(
    "unimeter_http_request_duration_seconds",
    "Latency of unimeter's own API, by route template",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBHOOK_DELIVERIES = Counter(
    "unimeter_webhook_deliveries",
    "Webhook delivery attempts, by outcome (succeeded, retrying, exhausted)",
    ["outcome"],
)
QUEUE_DEPTH = Gauge("unimeter_sync_queue_depth", "Sync runs queued and not yet started")
RUNNING_SYNCS = Gauge("unimeter_sync_running", "Sync runs in progress")
ACCOUNTS = Gauge("unimeter_integrated_accounts", "Integrated accounts by status", ["status"])
WEBHOOK_OUTBOX = Gauge("unimeter_webhook_outbox_pending", "Webhook deliveries not yet sent")
NOTIFICATION_DELIVERIES = Counter(
    "unimeter_notification_deliveries",
    "Notification delivery attempts, by kind (slack, email) and outcome (succeeded, retrying, "
    "exhausted)",
    ["kind", "outcome"],
)
NOTIFICATION_OUTBOX = Gauge(
    "unimeter_notification_outbox_pending", "Notification deliveries not yet sent"
)
# A live sync renews its lease every few seconds; a worker that hangs or dies mid-sync
# stops, and its lock ages until another run takes it over.
SYNC_HEARTBEAT_AGE = Gauge(
    "unimeter_sync_heartbeat_age_seconds",
    "Seconds since the stalest heartbeat of a held sync lock (0 when no sync holds one)",
)

# Vendor route words are lowercase, hyphenated or snake_case (``usage_report``), or an API
# version (``v1``); ids (numbers, hex, base62 such as "group_4omhdwp9fdONdeyB" or
# "user_01WCz1Fk") carry a digit or a capital.
_ID_SEGMENT = re.compile(r"/(?!v\d+(?:/|$))(?=[^/]*[\dA-Z])[^/]+")


def endpoint_label(path: str) -> str:
    """A path with ids folded to ``{id}``, so labels stay a small, fixed set."""
    return _ID_SEGMENT.sub("/{id}", path.split("?", 1)[0])


def observe_wait(vendor: str, path: str, seconds: float) -> None:
    """A request to ``path`` waited ``seconds`` before going out (nothing when it did not)."""
    if seconds > 0:
        VENDOR_WAIT.labels(vendor=vendor, endpoint=endpoint_label(path)).observe(seconds)
