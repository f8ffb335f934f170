"""The simulator as an ASGI application.

Every request goes through the same pipeline as at Cursor: Basic authentication, the team's
rate limit for the endpoint group, then (optionally) an injected fault, then the endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import handlers, plans
from .config import SimulatorConfig
from .enterprise_routes import enterprise_routes
from .families import ADMIN, CACHE_CONTROL, Family, Payload, etag_matches, etag_of
from .faults import Fault
from .validation import CursorHTTPError, parse_json_object
from .world import SimulatedCursor, TeamServices

Handler = Callable[[TeamServices, Request], Awaitable[dict[str, Any] | Payload]]

_UNAUTHORIZED = ADMIN.unauthorized
# A working key without the admin scope also gets 401 (cursor-api.md §1.9).
_MISSING_SCOPE = {"error": "Unauthorized", "message": "API key missing required scope: admin:*"}
_RATE_LIMITED = ADMIN.rate_limited


# The plan or feature is not enabled for the team (cursor-api.md §1.9).
class JSONBody(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class TruncatedBody(Response):
    """A 200 whose JSON body is cut short (with a matching Content-Length)."""

    def __init__(self, content: bytes) -> None:
        super().__init__(content[: max(1, len(content) // 2)], 200, media_type="application/json")


class DroppedConnection(Response):
    """Starts a response, sends part of it, and abandons the connection."""

    def __init__(self, content: bytes) -> None:
        super().__init__(b"", 200)
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._content)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self._content[:16], "more_body": True})
        # Returning with the body incomplete makes the server close the connection.


def _api_key(request: Request, *, bearer: bool) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if bearer and scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, _, _password = decoded.partition(":")
    return key or None


def _error(exc: CursorHTTPError) -> Response:
    return JSONBody(exc.body, status_code=exc.status, headers=exc.headers)


def _render(body: dict[str, Any] | Payload) -> Payload:
    if isinstance(body, Payload):
        return body
    return Payload(orjson.dumps(body), "application/json")


def _reply(
    payload: Payload, fault: Fault | None, headers: dict[str, str] | None = None
) -> Response:
    if fault is Fault.TRUNCATED_BODY:
        return TruncatedBody(payload.content)
    if fault is Fault.DROPPED_CONNECTION:
        return DroppedConnection(payload.content)
    return Response(payload.content, media_type=payload.media_type, headers=headers)


def create_app(simulator: SimulatedCursor | SimulatorConfig | None = None) -> Starlette:
    """Build the ASGI app; pass a :class:`SimulatedCursor` to keep a handle on its truth."""
    sim = simulator if isinstance(simulator, SimulatedCursor) else SimulatedCursor(simulator)

    def endpoint(
        group: str, handler: Handler, family: Family = ADMIN
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            key = _api_key(request, bearer=family.bearer)
            if key in sim.config.read_only_keys:
                return JSONBody(_MISSING_SCOPE, status_code=401)
            svc = sim.services(key) if key else None
            if svc is None or key is None:
                return JSONBody(family.unauthorized, status_code=401)
            if plans.refused(sim.config.plan_of(key), request.url.path):
                return JSONBody(plans.ENTERPRISE_REQUIRED, status_code=403)
            if family.etag:
                return await _cached(svc, key, request)
            verdict = sim.limiter.hit(key, group)
            if not verdict.allowed:
                return _limited(verdict.retry_after_seconds)
            sim.requests[key] += 1
            fault = sim.faults.next_fault(key)
            if fault is Fault.SLOW:
                await asyncio.sleep(sim.config.slow_seconds)
            elif fault is not None and fault not in (
                Fault.TRUNCATED_BODY,
                Fault.DROPPED_CONNECTION,
            ):
                return _fault_response(fault, request.url.path, sim.config.minute_seconds)
            try:
                body = await handler(svc, request)
            except CursorHTTPError as exc:
                return _error(exc)
            return _reply(_render(body), fault)

        async def _cached(svc: TeamServices, key: str, request: Request) -> Response:
            """Analytics and AI Code Tracking: the body is computed first, because a request
            whose ``If-None-Match`` still matches answers 304 and costs no rate limit."""
            try:
                payload = _render(await handler(svc, request))
            except CursorHTTPError as exc:
                verdict = sim.limiter.hit(key, group)
                return _error(exc) if verdict.allowed else _limited(verdict.retry_after_seconds)
            tag = etag_of(payload.content)
            headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
            if etag_matches(request.headers.get("if-none-match"), tag):
                return Response(status_code=304, headers=headers)
            verdict = sim.limiter.hit(key, group)
            if not verdict.allowed:
                return _limited(verdict.retry_after_seconds)
            sim.requests[key] += 1
            fault = sim.faults.next_fault(key)
            if fault is Fault.SLOW:
                await asyncio.sleep(sim.config.slow_seconds)
            elif fault is not None and fault not in (
                Fault.TRUNCATED_BODY,
                Fault.DROPPED_CONNECTION,
            ):
                return _fault_response(fault, request.url.path, sim.config.minute_seconds)
            return _reply(payload, fault, headers)

        def _limited(retry_after: int) -> Response:
            headers = {"Retry-After": str(retry_after)}
            return JSONBody(family.rate_limited, status_code=429, headers=headers)

        return run

    async def json_body(request: Request) -> dict[str, Any]:
        return parse_json_object(await request.body())

    async def members(svc: TeamServices, _: Request) -> dict[str, Any]:
        return handlers.members(svc)

    async def daily_usage(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.daily_usage(svc, await json_body(request))

    async def spend(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.spend(svc, await json_body(request))

    async def usage_events(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.usage_events(svc, await json_body(request))

    async def audit_logs(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.audit_logs(svc, dict(request.query_params))

    async def groups(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.groups(svc, dict(request.query_params))

    async def group(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.group(svc, request.path_params["group_id"], dict(request.query_params))

    async def spend_limit(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.user_spend_limit(svc, await json_body(request))

    async def remove_member(svc: TeamServices, request: Request) -> dict[str, Any]:
        return handlers.remove_member(svc, await json_body(request))

    async def not_simulated(_svc: TeamServices, request: Request) -> dict[str, Any]:
        raise CursorHTTPError(
            404, {"error": "Not Found", "message": f"Not Found: {request.url.path}"}
        )

    routes = [
        Route("/teams/members", endpoint("admin", members), methods=["GET"]),
        Route("/teams/daily-usage-data", endpoint("admin", daily_usage), methods=["POST"]),
        Route("/teams/spend", endpoint("admin", spend), methods=["POST"]),
        Route(
            "/teams/filtered-usage-events",
            endpoint("usage_events", usage_events),
            methods=["POST"],
        ),
        Route("/teams/audit-logs", endpoint("admin", audit_logs), methods=["GET"]),
        Route("/teams/groups", endpoint("admin", groups), methods=["GET"]),
        Route("/teams/groups/{group_id}", endpoint("admin", group), methods=["GET"]),
        Route(
            "/teams/user-spend-limit",
            endpoint("user_spend_limit", spend_limit),
            methods=["POST"],
        ),
        Route("/teams/remove-member", endpoint("remove_member", remove_member), methods=["POST"]),
        *enterprise_routes(endpoint),
        # The rest of Analytics is not simulated yet, but its plan gate is.
        Route(
            "/analytics/{rest:path}",
            endpoint("analytics", not_simulated),
            methods=["GET", "POST"],
        ),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        reason = {404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
        return JSONBody(
            {"error": reason, "message": f"{reason}: {request.url.path}"}, status_code=status
        )

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.simulator = sim
    return app


def _fault_response(fault: Fault, path: str, minute_seconds: float) -> Response:
    """An injected failure, in the shape Cursor (or whatever stands in front of it) sends."""
    if fault is Fault.UNAUTHORIZED:
        return JSONBody(_UNAUTHORIZED, status_code=401)
    if fault is Fault.FORBIDDEN:
        return JSONBody(plans.ENTERPRISE_REQUIRED, status_code=403)
    if fault is Fault.NOT_FOUND:
        return JSONBody({"error": "Not Found", "message": f"Not Found: {path}"}, status_code=404)
    if fault is Fault.RATE_LIMITED:
        # Cursor's Retry-After is one minute: the simulator's (scaled) minute.
        retry_after = str(max(1, math.ceil(minute_seconds)))
        return JSONBody(_RATE_LIMITED, status_code=429, headers={"Retry-After": retry_after})
    if fault is Fault.NOT_JSON:
        html = b"<html><head><title>Sign in</title></head><body>Sign in to continue</body></html>"
        return Response(html, status_code=200, media_type="text/html")
    if fault is Fault.BAD_GATEWAY:
        html = (
            b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
        )
        return Response(html, status_code=502, media_type="text/html")
    if fault is Fault.UNAVAILABLE:
        body = {"error": "Service Unavailable", "message": "The service is temporarily unavailable"}
        return JSONBody(body, status_code=503, headers={"Retry-After": "1"})
    body = {"error": "Internal Server Error", "message": "An unexpected error occurred"}
    return JSONBody(body, status_code=500)
