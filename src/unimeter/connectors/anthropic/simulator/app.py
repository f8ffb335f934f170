"""The simulator as an ASGI application (FastAPI).

Every request goes through the same pipeline: a request id, authentication (``x-api-key``
or a Bearer token), the admin-key check, the organization's rate limit, then (optionally)
an injected fault, then the endpoint. Every answer carries a ``request-id`` header.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from . import handlers
from .config import AnthropicSimConfig
from .errors import AnthropicHTTPError, error_body
from .faults import Fault
from .org import SimOrg
from .params import Query
from .world import SimulatedAnthropic

Handler = Callable[[SimOrg, Query, dict[str, str]], dict[str, Any]]
PREFIX = "/v1/organizations"
_INVALID_KEY = "invalid x-api-key"
_NO_PERMISSION = "Your API key does not have permission to use the specified resource."
_RATE_LIMITED = "Number of requests has exceeded your rate limit."

ROUTES: tuple[tuple[str, Handler], ...] = (
    ("/me", handlers.me),
    ("/users", handlers.users),
    ("/users/{user_id}", handlers.user),
    ("/invites", handlers.invites),
    ("/invites/{invite_id}", handlers.invite),
    ("/workspaces", handlers.workspaces),
    ("/workspaces/{workspace_id}", handlers.workspace),
    ("/workspaces/{workspace_id}/members", handlers.workspace_members),
    ("/workspaces/{workspace_id}/members/{user_id}", handlers.workspace_member),
    ("/api_keys", handlers.api_keys),
    ("/api_keys/{api_key_id}", handlers.api_key),
    ("/usage_report/claude_code", handlers.claude_code),
    ("/usage_report/messages", handlers.messages),
    ("/cost_report", handlers.cost_report),
)


def json_response(
    body: Any, request_id: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={"request-id": request_id, **(headers or {})},
    )


def error_response(exc: AnthropicHTTPError, request_id: str) -> Response:
    if isinstance(exc, HTMLPageError):
        html = (
            b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
        )
        return Response(html, 502, media_type="text/html", headers={"request-id": request_id})
    body = error_body(exc.kind, exc.message, request_id)
    return json_response(body, request_id, exc.status, exc.headers)


def _api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def create_app(simulator: SimulatedAnthropic | AnthropicSimConfig | None = None) -> FastAPI:
    """Build the ASGI app; pass a :class:`SimulatedAnthropic` to keep a handle on its truth."""
    sim = simulator if isinstance(simulator, SimulatedAnthropic) else SimulatedAnthropic(simulator)

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            request_id = sim.next_request_id()
            try:
                org = _admit(sim, request)
                body = handler(org, Query(request.query_params.multi_items()), request.path_params)
            except AnthropicHTTPError as exc:
                return error_response(exc, request_id)
            return json_response(body, request_id)

        return run

    async def http_error(request: Request, exc: Exception) -> Response:
        request_id = sim.next_request_id()
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            err = AnthropicHTTPError(404, "not_found_error", f"Not found: {request.url.path}")
        elif status == 405:
            err = AnthropicHTTPError(405, "invalid_request_error", "Method not allowed")
        else:
            err = AnthropicHTTPError(500, "api_error", "Internal server error")
        return error_response(err, request_id)

    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        exception_handlers={HTTPException: http_error},
    )
    for path, handler in ROUTES:
        app.add_route(PREFIX + path, endpoint(handler), methods=["GET"])
    app.state.simulator = sim
    return app


def _admit(sim: SimulatedAnthropic, request: Request) -> SimOrg:
    """The organization a request may read, or the error Anthropic would answer instead."""
    key = _api_key(request)
    if key is None or not sim.knows(key):
        raise AnthropicHTTPError(401, "authentication_error", _INVALID_KEY)
    if sim.is_revoked(key):
        sim.count_request(key)
        raise AnthropicHTTPError(401, "authentication_error", _INVALID_KEY)
    verdict = sim.limiter.hit(key)
    if not verdict.allowed:
        sim.count_request(key, limited=True)
        retry = {"retry-after": str(verdict.retry_after_seconds)}
        raise AnthropicHTTPError(429, "rate_limit_error", _RATE_LIMITED, retry)
    sim.count_request(key)
    if key == sim.non_admin_key:
        if sim.config.non_admin_status == 401:
            raise AnthropicHTTPError(401, "authentication_error", _INVALID_KEY)
        raise AnthropicHTTPError(403, "permission_error", _NO_PERMISSION)
    org = sim.active_org(key)
    if org is None:
        raise AnthropicHTTPError(401, "authentication_error", _INVALID_KEY)
    fault = sim.faults.next_fault(key)
    if fault is not None:
        raise _fault_error(fault, sim.config.minute_seconds)
    return org


class HTMLPageError(AnthropicHTTPError):
    """A 502 from the edge: an HTML page, not Anthropic's JSON."""


def _fault_error(fault: Fault, minute_seconds: float) -> AnthropicHTTPError:
    if fault is Fault.OVERLOADED:
        return AnthropicHTTPError(529, "overloaded_error", "Overloaded")
    if fault is Fault.BAD_GATEWAY:
        return HTMLPageError(502, "bad_gateway", "502 Bad Gateway")
    if fault is Fault.UNAUTHORIZED:
        return AnthropicHTTPError(401, "authentication_error", _INVALID_KEY)
    if fault is Fault.FORBIDDEN:
        return AnthropicHTTPError(403, "permission_error", _NO_PERMISSION)
    if fault is Fault.NOT_FOUND:
        return AnthropicHTTPError(404, "not_found_error", "Not found")
    if fault is Fault.RATE_LIMITED:
        retry = {"retry-after": str(max(1, math.ceil(minute_seconds)))}
        return AnthropicHTTPError(429, "rate_limit_error", _RATE_LIMITED, retry)
    return AnthropicHTTPError(500, "api_error", "Internal server error")
