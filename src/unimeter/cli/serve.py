"""``unimeter serve``: the HTTP API."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from unimeter.api.app import create_app


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the platform, unified usage metering and proxy APIs (docs at /docs)."""
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", proxy_headers=False)
