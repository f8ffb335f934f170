"""``unimeter serve``: the HTTP API, with the scheduler and syncs in-process by default."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from unimeter.config import Settings
from unimeter.db.engine import resolve_urls
from unimeter.observability import logging as logs
from unimeter.runtime import Runtime

from .common import fail, run
from .serve_workers import run_workers

# Above the largest URL plus headers api/limits.py accepts (config.py caps both).
H11_BUFFER_BYTES = 2 * 1024 * 1024
LOG_FORMAT_HELP = "Log lines as text or json (secrets are redacted either way)."


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    scheduler: Annotated[
        bool,
        typer.Option(
            help="Run scheduled syncs in this process. With --no-scheduler on PostgreSQL, "
            "syncs go to `unimeter worker` processes instead."
        ),
    ] = True,
    log_format: Annotated[
        logs.LogFormat | None, typer.Option(help=LOG_FORMAT_HELP, case_sensitive=False)
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes. Each answers requests (one a core is the usual choice); "
            "the scheduler and the webhook and notification senders run in one of them.",
        ),
    ] = 1,
) -> None:
    """Serve the platform, unified usage metering and proxy APIs (docs at /docs)."""
    # The HTTP stack only when serving: other commands start without importing it.
    import uvicorn

    from unimeter.app import SERVE_BACKGROUND_ENV, Background, create_app

    if log_format is not None:
        logs.configure(log_format)
    try:
        backend = resolve_urls(Settings().resolved_database_url).backend
    except ValueError as exc:
        fail(str(exc))
    # Open the store once before serving: an unreachable database, a failed migration or a
    # wrong master key is one line here, rather than a traceback logged by uvicorn's
    # lifespan. The app opens its own runtime in uvicorn's event loop.
    run(_ready)
    background = Background(scheduler=scheduler, queue=not scheduler and backend == "postgresql")
    options: dict[str, Any] = {
        # No level and no config of its own: uvicorn's loggers (access log included, at
        # INFO) follow the root handler's level and format, redaction included.
        "log_level": None,
        "log_config": None,
        "proxy_headers": False,
        # h11 drops a request line plus headers above its buffer (16 KiB by default) without
        # an answer; with room to read them, api/limits.py answers 414 or 431 instead.
        "h11_max_incomplete_event_size": H11_BUFFER_BYTES,
    }
    if workers == 1:
        uvicorn.run(create_app(background=background), host=host, port=port, **options)
        return
    # Each process reads the background work chosen here from the environment, and they
    # elect the one that runs it (unimeter.app.serve_app).
    chosen = [name for name, on in (("scheduler", background.scheduler),
                                    ("queue", background.queue)) if on]  # fmt: skip
    os.environ[SERVE_BACKGROUND_ENV] = ",".join(chosen)
    if log_format is not None:
        os.environ[logs.FORMAT_ENV] = log_format
    try:
        code = run_workers(workers, host, port, options)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    if code:
        fail("a server process could not start (see the log above)")


async def _ready(_runtime: Runtime) -> None:
    """Nothing to do: opening the runtime (migrations, the key check) is the test."""
