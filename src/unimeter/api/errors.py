"""One error envelope for every failure: ``{statusCode, error, message, details?}``.

Errors that came from the vendor add ``remote_error: true`` and the vendor's raw body.
Nothing else leaves the process: an unexpected exception becomes a generic 500 and its
traceback goes to the log (redacted), never to the caller.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

log = logging.getLogger("unimeter.api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        remote_body: object | None = None,
        remote: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.remote = remote
        self.remote_body = remote_body


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, message, details=details or None)


def envelope(
    status: int,
    message: str,
    details: dict[str, Any] | None = None,
    *,
    remote: bool = False,
    remote_body: object | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if details:
        body["details"] = details
    if remote:
        body["remote_error"] = True
        body["raw_response"] = remote_body
    return body


def error_response(exc: ApiError) -> JSONResponse:
    body = envelope(
        exc.status, exc.message, exc.details, remote=exc.remote, remote_body=exc.remote_body
    )
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


async def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def _message(error: Any) -> str:
    """Pydantic's message, said for people: a string's length in characters (its generic
    length check on secrets says "items"), and without the "Value error, " of our own
    validators. The input itself is never echoed: it may be a secret."""
    kind = error.get("type")
    ctx = error.get("ctx") or {}
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str | SecretStr):
        bound = "at least" if kind == "too_short" else "at most"
        limit = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"String should have {bound} {limit} characters"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    failures = [
        {
            "location": ".".join(str(part) for part in error.get("loc", ())),
            "message": _message(error),
        }
        for error in exc.errors()
    ]
    message = "; ".join(f"{f['location']}: {f['message']}" for f in failures[:3])
    return JSONResponse(envelope(400, message, {"failures": failures}), status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.method} {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return JSONResponse(
        envelope(exc.status_code, message), status_code=exc.status_code, headers=headers
    )


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path. Starlette's own ``Allow`` names only the
    first route that matched the path, and FastAPI makes one route per method; asking each
    route about each method also works through included routers."""
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(envelope(500, "internal error; it has been logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


ERROR_SCHEMA: dict[str, Any] = {
    "description": "Error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["statusCode", "error", "message"],
                "properties": {
                    "statusCode": {"type": "integer"},
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "object"},
                    "remote_error": {"type": "boolean"},
                    "raw_response": {},
                },
            }
        }
    },
}
# Every route may answer these; listing them keeps the OpenAPI document honest.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: ERROR_SCHEMA,
    401: ERROR_SCHEMA,
    404: ERROR_SCHEMA,
    429: ERROR_SCHEMA,
    500: ERROR_SCHEMA,
}
