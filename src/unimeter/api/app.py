"""The FastAPI application behind ``unimeter serve``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from starlette.responses import JSONResponse

from unimeter import __version__
from unimeter.accounts.routes import router as accounts_router
from unimeter.kit.cursors import CursorCodec
from unimeter.proxy.routes import router as proxy_router
from unimeter.runtime import Runtime, open_runtime
from unimeter.sync.routes import router as sync_router
from unimeter.sync.runner import SyncRunner
from unimeter.unified.routes import router as unified_router

from . import errors
from .cache import ResponseCache
from .deps import RuntimeDep, parse_limit
from .ratelimit import RateLimiter

DESCRIPTION = """\
One normalised, paginated API over your customers' Cursor workspaces.

Authenticate with `Authorization: Bearer <token>` (create one with `unimeter tokens create`).
Every query is scoped to the token's environment. Lists return
`{result, next_cursor, prev_cursor, result_count}`; errors return
`{statusCode, error, message, details?}`.
"""


def _attach(app: FastAPI, runtime: Runtime) -> None:
    app.state.runtime = runtime
    app.state.limiter = RateLimiter()
    app.state.account_limit = parse_limit(runtime.settings.account_rate_limit)
    app.state.token_limit = parse_limit(runtime.settings.token_rate_limit)
    app.state.cursors = CursorCodec(runtime.key.key.derive("unimeter/cursors/v1"))
    app.state.sync_runner = SyncRunner(runtime)


def create_app(runtime: Runtime | None = None, *, cache_responses: bool | None = None) -> FastAPI:
    """The API app. Given a runtime (tests), it uses it; otherwise it opens one at start-up."""
    if cache_responses is None:
        cache_responses = os.environ.get("UNIMETER_RESPONSE_CACHE", "1") not in (
            "0",
            "off",
            "false",
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        active = runtime or await open_runtime()
        _attach(app, active)
        try:
            yield
        finally:
            await app.state.sync_runner.close()
            if owned:
                await active.close()

    app = FastAPI(
        title="unimeter",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    if runtime is not None:
        _attach(app, runtime)  # usable without running the lifespan (in-process tests)
    errors.install(app)
    if cache_responses:
        app.add_middleware(ResponseCache)
    for router in (accounts_router, sync_router, unified_router, proxy_router):
        app.include_router(router)

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

    return app
