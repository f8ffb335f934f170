"""Who calls the MCP server: an API token, checked by the API's own code.

Over stdio the token is checked once, when the process starts (``unimeter mcp``). Over HTTP
every request carries its bearer token and goes through the API's bearer dependency (same
401s, same per-token rate limit), so a revoked token stops working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.security import HTTPBearer
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from unimeter.api.deps import get_principal, get_runtime
from unimeter.api.errors import ApiError, error_response
from unimeter.auth.service import Principal, authenticate
from unimeter.runtime import Runtime

# Where an authenticated HTTP request carries its caller to the tools (the SDK hands the
# tools the Starlette request of the POST that brought the call).
CALLER_KEY = "unimeter.mcp.caller"
_bearer = HTTPBearer(auto_error=False)


class InvalidTokenError(Exception):
    def __init__(self) -> None:
        super().__init__("invalid or revoked API token (create one with `unimeter tokens create`)")


@dataclass(frozen=True, slots=True)
class Caller:
    """What every tool needs: the store and the environment the token is scoped to."""

    runtime: Runtime
    principal: Principal


async def caller_for_token(runtime: Runtime, token: str) -> Caller:
    principal = await authenticate(runtime, token.strip())
    if principal is None:
        raise InvalidTokenError
    return Caller(runtime, principal)


def caller_of_request(request: Any) -> Caller | None:
    """The caller :class:`RequireToken` put on an HTTP request; None off HTTP."""
    if not isinstance(request, Request):
        return None
    caller = request.scope.get(CALLER_KEY)
    return caller if isinstance(caller, Caller) else None


class RequireToken:
    """ASGI wrapper of the MCP endpoint: no valid bearer token, no MCP; the refusal is the
    API's error envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        runtime = await get_runtime(request)
        try:
            principal = await get_principal(request, runtime, await _bearer(request))
        except ApiError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope[CALLER_KEY] = Caller(runtime, principal)
        await self.app(scope, receive, send)
