"""``GET /metrics``: Prometheus text exposition of this process, plus deployment gauges."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from unimeter.api.deps import RuntimeDep
from unimeter.db.base import now_ms

from . import metrics, repository

router = APIRouter(tags=["health"])

ACCOUNT_STATUSES = ("active", "needs_reauth")


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(runtime: RuntimeDep) -> Response:
    """Metrics for Prometheus. Unauthenticated, like /healthz: expose it to your scraper
    only (it carries counts, never customer data)."""
    async with runtime.db.reader() as session:
        runs = await repository.runs_by_status(session)
        accounts = await repository.accounts_by_status(session)
        outbox = await repository.pending_deliveries(session)
        notifications = await repository.pending_notifications(session)
        heartbeat = await repository.stalest_heartbeat_ms(session)
    metrics.QUEUE_DEPTH.set(runs.get("queued", 0))
    metrics.RUNNING_SYNCS.set(runs.get("running", 0))
    for status in {*ACCOUNT_STATUSES, *accounts}:
        metrics.ACCOUNTS.labels(status=status).set(accounts.get(status, 0))
    metrics.WEBHOOK_OUTBOX.set(outbox)
    metrics.NOTIFICATION_OUTBOX.set(notifications)
    age_ms = 0 if heartbeat is None else max(0, now_ms() - heartbeat)
    metrics.SYNC_HEARTBEAT_AGE.set(age_ms / 1000)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
