"""``unimeter mcp``: the MCP tools over stdio, for an AI assistant on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from unimeter.runtime import Runtime

from .common import fail, run

TOKEN_ENV = "UNIMETER_API_TOKEN"


def mcp_command(
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            show_default=False,
            help=f"An API token (umk_…, `unimeter tokens create`); or set {TOKEN_ENV}. "
            "The tools see its environment only.",
        ),
    ] = None,
) -> None:
    """Serve the read-only MCP tools (usage, seats, cost, anomalies, adoption) over stdio.

    An MCP client starts this command itself: see "MCP server" in the README."""
    if not token or not token.strip():
        fail(f"give an API token: --token umk_… or {TOKEN_ENV}", 2)
    # Imported here: the token check is the API's (FastAPI), and would slow every other
    # command's start.
    from unimeter.mcp.auth import InvalidTokenError, caller_for_token

    async def serve(runtime: Runtime) -> None:
        # Checked before the first message: a bad token ends the process with one line.
        try:
            caller = await caller_for_token(runtime, token)
        except InvalidTokenError as exc:
            fail(str(exc))
        # Imported here: the SDK would slow every other command's start.
        from unimeter.mcp.server import build_server

        # stdout is the protocol's channel: nothing else may print there.
        await build_server(caller).run_stdio_async()

    run(serve)
