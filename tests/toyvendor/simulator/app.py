"""Toy AI's admin API as an ASGI app: bearer key and organization header, then the plan
gate, then the rate limit or a forced fault, then the endpoint.

Errors are ``{"error": {"type": …, "message": …}}``; pages are ``{"data": [...],
"next_page": token | null}`` where the token is opaque and bound to the query it came from.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .world import Fault, SimulatedToy

Handler = Callable[[SimulatedToy, Request], dict[str, Any]]

# The plan that may read each gated path.
GATED = {"/v1/audit_log": "enterprise"}


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers

    def response(self) -> JSONResponse:
        body = {"error": {"type": self.kind, "message": self.message}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def create_app(sim: SimulatedToy) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.simulator = sim

    def route(path: str, handler: Handler) -> None:
        async def run(request: Request) -> JSONResponse:
            try:
                _admit(sim, request)
                return JSONResponse(handler(sim, request))
            except ApiError as exc:
                return exc.response()

        app.add_api_route(path, run, methods=["GET"])

    route("/v1/organization", _organization)
    route("/v1/members", _members)
    route("/v1/usage_report", _usage_report)
    route("/v1/audit_log", _audit_log)

    @app.exception_handler(404)
    async def not_found(request: Request, _: Exception) -> JSONResponse:
        return ApiError(404, "not_found_error", f"no route {request.url.path}").response()

    return app


def _admit(sim: SimulatedToy, request: Request) -> None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    org = request.headers.get("x-organization-id", "")
    if scheme.lower() != "bearer" or key in sim.revoked or org != sim.org_id:
        raise ApiError(401, "authentication_error", "invalid API key or organization")
    if key == sim.member_key:
        raise ApiError(403, "permission_error", "this endpoint needs an admin API key")
    if key != sim.admin_key:
        raise ApiError(401, "authentication_error", "invalid API key or organization")
    if not sim.count_request():
        raise ApiError(
            429, "rate_limit_error", "slow down", **{"retry-after": sim.config.retry_after}
        )
    forced = sim.forced
    if forced is not None:
        raise _fault(forced)
    plan = GATED.get(request.url.path)
    if plan is not None and sim.config.plan == "legacy":
        raise ApiError(404, "not_found_error", f"no route {request.url.path}")
    if plan is not None and sim.config.plan != plan:
        raise ApiError(403, "plan_error", f"the {plan} plan is required for this endpoint")


def _fault(fault: Fault) -> ApiError:
    return {
        Fault.UNAUTHORIZED: ApiError(401, "authentication_error", "API key revoked"),
        Fault.FORBIDDEN: ApiError(403, "permission_error", "access denied"),
        Fault.NOT_FOUND: ApiError(404, "not_found_error", "no such endpoint"),
        Fault.RATE_LIMITED: ApiError(429, "rate_limit_error", "slow down", **{"retry-after": "0"}),
        Fault.SERVER_ERROR: ApiError(500, "api_error", "internal error"),
    }[fault]


def _organization(sim: SimulatedToy, _: Request) -> dict[str, Any]:
    return {
        "id": sim.org_id,
        "name": "Toy Org",
        "plan": sim.config.plan,
        "usage_available_from": sim.first_day.isoformat(),
    }


def _members(sim: SimulatedToy, request: Request) -> dict[str, Any]:
    rows = [m.payload() for m in sim.members]
    return _page(sim, request, rows, query="members")


def _usage_report(sim: SimulatedToy, request: Request) -> dict[str, Any]:
    start = _date(request, "starting_on")
    end = _date(request, "ending_before")
    if end <= start:
        raise ApiError(400, "invalid_request_error", "ending_before must be after starting_on")
    rows = [r.payload() for r in sim.usage(start, end)]
    return _page(sim, request, rows, query=f"usage:{start}:{end}")


def _audit_log(sim: SimulatedToy, request: Request) -> dict[str, Any]:
    start, end = _instant(request, "after"), _instant(request, "before")
    rows = [e.payload() for e in sim.audit(start, end)]
    return _page(sim, request, rows, query=f"audit:{start}:{end}")


def _page(
    sim: SimulatedToy, request: Request, rows: list[dict[str, Any]], *, query: str
) -> dict[str, Any]:
    try:
        limit = int(request.query_params.get("limit", "20"))
    except ValueError:
        raise ApiError(400, "invalid_request_error", "limit must be an integer") from None
    if limit < 1:
        raise ApiError(400, "invalid_request_error", "limit must be positive")
    limit = min(limit, sim.config.max_page_size)  # capped silently, as many vendors do
    offset = _offset(request.query_params.get("page"), query)
    following = offset + limit
    token = _token(following, query) if following < len(rows) else None
    return {"data": rows[offset:following], "next_page": token}


def _token(offset: int, query: str) -> str:
    raw = json.dumps({"o": offset, "q": query}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str | None, query: str) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, bound = int(decoded["o"]), str(decoded["q"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "invalid_request_error", "malformed page token") from None
    if bound != query:
        raise ApiError(400, "invalid_request_error", "page token belongs to another query")
    return offset


def _date(request: Request, name: str) -> dt.date:
    value = request.query_params.get(name)
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        raise ApiError(400, "invalid_request_error", f"{name} must be YYYY-MM-DD") from None


def _instant(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid_request_error", f"{name} must be an ISO 8601 time") from None
    if at.tzinfo is None:
        raise ApiError(400, "invalid_request_error", f"{name} needs a time zone")
    return int(at.timestamp() * 1000)
