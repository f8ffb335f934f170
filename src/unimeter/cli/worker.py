"""``unimeter worker``: run syncs (and send webhooks and notifications, and queue the weekly
digest) from the PostgreSQL job queue."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from unimeter.observability import logging as logs
from unimeter.runtime import Runtime

from .common import run
from .serve import LOG_FORMAT_HELP


def worker_command(
    concurrency: Annotated[
        int, typer.Option(min=1, max=256, help="Syncs this worker runs at the same time.")
    ] = 8,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on this port.")
    ] = None,
    metrics_address: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = (
        "127.0.0.1"
    ),
    name: Annotated[str | None, typer.Option(help="A name for this worker in logs.")] = None,
    log_format: Annotated[
        logs.LogFormat | None, typer.Option(help=LOG_FORMAT_HELP, case_sensitive=False)
    ] = None,
) -> None:
    """Process sync jobs and scheduled ticks (start as many as you like, on any machine).

    Needs PostgreSQL (UNIMETER_DATABASE_URL). Stop with Ctrl-C or SIGTERM: running syncs
    finish first; a worker that dies instead has its jobs retried by the others.
    """
    if log_format is not None:
        logs.configure(log_format)
    # The job queue (procrastinate) and the senders only in a worker: other commands
    # start without importing them.
    from prometheus_client import start_http_server

    from unimeter.analytics import digest as digest_figures
    from unimeter.notifications.digest import register_digest_task
    from unimeter.notifications.dispatcher import NotificationDispatcher
    from unimeter.sync.scheduling.queue import JobQueue
    from unimeter.webhooks.dispatcher import WebhookDispatcher

    async def main(runtime: Runtime) -> None:
        queue = JobQueue(runtime)
        register_digest_task(queue.app, runtime, digest_figures.build)
        if metrics_port is not None:
            start_http_server(metrics_port, addr=metrics_address)
        senders: list[WebhookDispatcher | NotificationDispatcher] = []
        if runtime.settings.webhook_dispatcher:
            senders = [WebhookDispatcher(runtime), NotificationDispatcher(runtime)]
        tasks = [asyncio.create_task(s.run_forever()) for s in senders]
        try:
            async with queue.app.open_async():
                await queue.run_worker(concurrency=concurrency, name=name)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for sender in senders:
                await sender.aclose()

    run(main)
