"""The MCP server: the read-only tools and the metric definitions, on the official SDK.

:func:`build_server` makes a FastMCP server. ``unimeter mcp`` gives it the caller its token
names and runs it over stdio; ``unimeter serve`` mounts :func:`http_endpoint` at ``/mcp``,
where each request brings its own bearer token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.server import StreamableHTTPASGIApp
from mcp.server.fastmcp.tools import Tool
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from starlette.types import ASGIApp

from . import tools
from .auth import Caller, RequireToken

PATH = "/mcp"
METRICS_URI = "unimeter://docs/metrics"
INSTRUCTIONS = """\
Usage, seats and cost of AI developer tools (Cursor, Claude Code, ...), synced from the
vendors' admin APIs. Start with list_accounts; then pass integrated_account_id (one vendor
workspace) or tenant_id (all of a customer's workspaces) to the other tools. Days are UTC,
end_date is exclusive, money is USD as exact decimal strings. Every number is defined in the
resource unimeter://docs/metrics."""
READ_ONLY = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)


def metrics_doc() -> str:
    """docs/metrics.md: the package ships it as data (``unimeter/mcp/metrics.md`` is a link
    to it in the repository; a wheel holds its content), so there is one copy to keep true."""
    return resources.files(__package__).joinpath("metrics.md").read_text(encoding="utf-8")


@cache
def _tools() -> tuple[Tool, ...]:
    """The tools, described once per process: the SDK builds each one's argument model and
    JSON schemas, most of the time it took to create the API's app (tests create hundreds).
    A described tool holds no state of a server's, so servers share them."""
    return tuple(
        Tool.from_function(tool, annotations=READ_ONLY, structured_output=True)
        for tool in tools.TOOLS
    )


def build_server(caller: Caller | None = None) -> FastMCP:
    """The server; with ``caller`` (stdio), every call is that token's, otherwise each HTTP
    request's own (see :class:`~unimeter.mcp.auth.RequireToken`)."""

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[Caller | None]:
        yield caller

    server = FastMCP(
        "unimeter",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        streamable_http_path=PATH,
        # No sessions to keep: every call is one request that answers in JSON, so any
        # process behind a load balancer can take it.
        stateless_http=True,
        json_response=True,
        # The SDK's DNS-rebinding guard accepts only localhost Host headers; /mcp needs a
        # bearer token a rebinding page cannot have, and must answer on the served host.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        tools=list(_tools()),
    )
    server.resource(
        METRICS_URI,
        name="metrics",
        title="What every number means",
        description="Definitions of every metric, period and unit (docs/metrics.md)",
        mime_type="text/markdown",
    )(metrics_doc)
    return server


def http_endpoint(server: FastMCP) -> tuple[ASGIApp, StreamableHTTPSessionManager]:
    """The streamable-HTTP endpoint behind a bearer check, and the session manager whose
    ``run()`` the app's lifespan must hold open."""
    server.streamable_http_app()  # creates the session manager
    manager = server.session_manager
    return RequireToken(StreamableHTTPASGIApp(manager)), manager
