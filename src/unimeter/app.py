"""The composition root: the one module that knows every package and wires them.

- :func:`register_hooks` and :func:`open_runtime` (from ``unimeter.wiring``, which a
  command that needs no HTTP imports alone): a runtime with the sync's real hooks.
- :func:`create_app` builds the FastAPI app behind ``unimeter serve``: the HTTP kit
  (``api/``), every package's router, the dashboard, and the background tasks.

Only entry points (``cli/``, tests, benchmarks) import this module
(``tests/test_layering.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import text
from starlette.responses import JSONResponse
from starlette.routing import Route

from unimeter import __version__
from unimeter.accounts.routes import router as accounts_router
from unimeter.analytics import digest as digest_figures
from unimeter.analytics.routes import MAX_DIRECTORY_BYTES, directory_router
from unimeter.analytics.routes import router as analytics_router
from unimeter.analytics.routes.code import router as code_router
from unimeter.api import docs, errors
from unimeter.api.cache import DataVersions, ResponseCache
from unimeter.api.deps import RuntimeDep, parse_limit
from unimeter.api.limits import Limits, RequestLimits
from unimeter.api.query import reject_unknown_query
from unimeter.api.ratelimit import RateLimiter
from unimeter.auth.service import RecentTokens
from unimeter.config import Settings
from unimeter.connect.routes import router as connect_router
from unimeter.exports.routes import router as exports_router
from unimeter.kit.collector import settle_after_start
from unimeter.kit.cursors import CursorCodec
from unimeter.kit.leader import FileLock
from unimeter.notifications.digest import DigestScheduler
from unimeter.notifications.dispatcher import NotificationDispatcher
from unimeter.notifications.routes import router as notifications_router
from unimeter.observability.middleware import LatencyMiddleware
from unimeter.observability.routes import router as metrics_router
from unimeter.proxy.routes import router as proxy_router
from unimeter.runtime import Runtime
from unimeter.sync.routes import router as sync_router
from unimeter.sync.scheduling.dispatch import SyncDispatch
from unimeter.sync.scheduling.queue import JobQueue
from unimeter.sync.scheduling.scheduler import Scheduler
from unimeter.unified.routes import router as unified_router
from unimeter.web import routes as web_routes
from unimeter.web.routes import router as web_router
from unimeter.webhooks.dispatcher import WebhookDispatcher
from unimeter.webhooks.routes import router as webhooks_router
from unimeter.wiring import open_runtime, register_hooks

log = logging.getLogger("unimeter")

__all__ = ["Background", "create_app", "open_runtime", "register_hooks"]


DESCRIPTION = """\
One normalised, paginated API over your customers' Cursor workspaces.

Authenticate with `Authorization: Bearer <token>` (create one with `unimeter tokens create`).
Every query is scoped to the token's environment. Lists return
`{result, next_cursor, prev_cursor, result_count}`; errors return
`{statusCode, error, message, details?}`.
"""


@dataclass(frozen=True, slots=True)
class Background:
    """What the server runs besides answering requests."""

    # Run scheduled syncs (the embedded scheduler).
    scheduler: bool = False
    # Hand syncs to procrastinate workers instead of running them here (PostgreSQL).
    queue: bool = False
    # Send webhook deliveries and notifications from this process (None:
    # UNIMETER_WEBHOOK_DISPATCHER).
    webhooks: bool | None = None


def _attach(
    app: FastAPI, runtime: Runtime, background: Background, versions: DataVersions | None
) -> None:
    app.state.runtime = runtime
    if versions is not None:
        # A write committed here shows in the next cached answer, not 250 ms later.
        runtime.db.on_commit(versions.forget)
    app.state.limiter = RateLimiter()
    app.state.recent_tokens = RecentTokens()
    app.state.account_limit = parse_limit(runtime.settings.account_rate_limit)
    app.state.token_limit = parse_limit(runtime.settings.token_rate_limit)
    settings = runtime.settings
    app.state.limits = Limits(
        max_body_bytes=settings.max_body_bytes,
        max_url_bytes=settings.max_url_bytes,
        max_header_bytes=settings.max_header_bytes,
        uploads={"/directory": max(settings.max_body_bytes, MAX_DIRECTORY_BYTES)},
    )
    app.state.cursors = CursorCodec(runtime.key.key.derive("unimeter/cursors/v1"))
    queue = JobQueue(runtime) if background.queue else None
    app.state.sync_dispatch = SyncDispatch(runtime, queue=queue)
    app.state.webhook_dispatcher = None
    app.state.notification_dispatcher = None
    # Syncs run without being asked (scheduler here or workers): a new account's first
    # sync starts as soon as it is linked.
    app.state.auto_sync = background.scheduler or background.queue


def _start_background(app: FastAPI, runtime: Runtime, background: Background) -> list[Any]:
    tasks: list[asyncio.Task[None]] = []
    send_webhooks = background.webhooks
    if send_webhooks is None:
        send_webhooks = runtime.settings.webhook_dispatcher
    if send_webhooks:
        dispatcher = WebhookDispatcher(runtime)
        app.state.webhook_dispatcher = dispatcher
        tasks.append(asyncio.create_task(dispatcher.run_forever()))
        notifier = NotificationDispatcher(runtime)
        app.state.notification_dispatcher = notifier
        tasks.append(asyncio.create_task(notifier.run_forever()))
    if background.scheduler:
        scheduler = Scheduler(
            app.state.sync_dispatch, tick_seconds=runtime.settings.scheduler_tick_seconds
        )
        app.state.scheduler = scheduler
        tasks.append(asyncio.create_task(scheduler.run_forever()))
        digests = DigestScheduler(runtime, digest_figures.build)
        tasks.append(asyncio.create_task(digests.run_forever()))
    return tasks


# How often a process of `serve --workers N` that does not run the background work checks
# whether the one that did has exited.
LEAD_RETRY_SECONDS = 2.0


async def _when_leading(
    app: FastAPI, runtime: Runtime, background: Background, lock: FileLock, tasks: list[Any]
) -> None:
    """Start the background work once this process holds ``lock``: at once, or after the
    process that held it exits."""
    while not lock.try_acquire():
        await asyncio.sleep(LEAD_RETRY_SECONDS)
    log.info("this server process runs the scheduler and the senders")
    tasks.extend(_start_background(app, runtime, background))


async def _stop_background(app: FastAPI, tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await app.state.sync_dispatch.close()
    for dispatcher in (app.state.webhook_dispatcher, app.state.notification_dispatcher):
        if dispatcher is not None:
            await dispatcher.aclose()


def _install_health(app: FastAPI) -> None:
    """``/healthz`` and ``/readyz``, ahead of every other route: a load balancer asks them
    every few seconds, and a route is matched by walking the list (at its end, ``/healthz``
    spent most of its 0.19 ms finding itself)."""

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: errors.ERROR_SCHEMA})
    async def readyz(runtime: RuntimeDep) -> Any:
        """The store answers."""
        try:
            async with runtime.db.reader() as session:
                await session.execute(text("SELECT 1"))
        except Exception:  # any failure means "not ready"; details go to the log
            errors.log.exception("readiness check failed")
            return JSONResponse(
                errors.envelope(503, "the database is not reachable"), status_code=503
            )
        return {"status": "ready"}


def create_app(
    runtime: Runtime | None = None,
    *,
    cache_responses: bool | None = None,
    background: Background | None = None,
    lead_lock: Path | None = None,
) -> FastAPI:
    """The API app. Given a runtime (tests), it uses it; otherwise it opens one at start-up.
    Background work (scheduler, webhook sending) starts with the lifespan; with
    ``lead_lock`` (one of several server processes), only in the process that holds it."""
    background = background or Background()
    if cache_responses is None:
        cache_responses = os.environ.get("UNIMETER_RESPONSE_CACHE", "1") not in (
            "0",
            "off",
            "false",
        )
    versions = DataVersions() if cache_responses else None

    # The MCP tools over streamable HTTP; its session manager lives as long as the app.
    # Imported here: the SDK costs every other command's start a noticeable fraction.
    from unimeter.mcp import server as mcp_server

    mcp_endpoint, mcp_sessions = mcp_server.http_endpoint(mcp_server.build_server())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        active = runtime or await open_runtime()
        if owned:
            _attach(app, active, background, versions)
            settle_after_start()
        lock = FileLock(lead_lock) if lead_lock is not None else None
        tasks: list[Any] = []
        leading = None
        if lock is None:
            tasks = _start_background(app, active, background)
        else:
            leading = asyncio.create_task(_when_leading(app, active, background, lock, tasks))
        try:
            async with mcp_sessions.run():
                yield
        finally:
            if leading is not None:
                leading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await leading
            await _stop_background(app, tasks)
            if lock is not None:
                lock.release()
            if owned:
                await active.close()

    app = FastAPI(
        title="unimeter",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served by api/docs.py from local assets
        redoc_url=None,
        lifespan=lifespan,
        # Every route, whichever router it comes from: unknown query parameters are a 400.
        dependencies=[Depends(reject_unknown_query)],
    )
    if runtime is not None:
        _attach(app, runtime, background, versions)  # usable without running the lifespan (tests)
    errors.install(app)
    docs.install(app, title=app.title, openapi_url="/openapi.json")
    if versions is not None:
        app.add_middleware(ResponseCache, versions=versions)
    app.add_middleware(LatencyMiddleware)
    app.add_middleware(RequestLimits)  # outermost: refuses before anything else runs
    _install_health(app)
    # Matched in this order, route by route: the unified reads, the API's busiest routes,
    # first (their prefixes share no path with the others').
    routers = (
        unified_router,
        accounts_router,
        sync_router,
        analytics_router,
        code_router,
        directory_router,
        exports_router,
        proxy_router,
        webhooks_router,
        notifications_router,
        metrics_router,
        connect_router,
        web_router,
    )
    for router in routers:
        app.include_router(router)
    web_routes.install(app)
    # An ASGI app as the endpoint: the SDK reads the request and answers itself.
    app.router.routes.append(Route(mcp_server.PATH, mcp_endpoint, include_in_schema=False))

    return app


# What `unimeter serve --workers N` hands its processes: the background work it chose.
SERVE_BACKGROUND_ENV = "UNIMETER_SERVE_BACKGROUND"


def serve_app() -> FastAPI:
    """The app of one process of ``unimeter serve --workers N`` (``cli/serve_workers.py``).
    Every process answers requests; the scheduler and the senders run in the one that
    holds the data dir's ``serve.lock``."""
    chosen = os.environ.get(SERVE_BACKGROUND_ENV, "").split(",")
    background = Background(scheduler="scheduler" in chosen, queue="queue" in chosen)
    return create_app(background=background, lead_lock=Settings().data_dir / "serve.lock")
