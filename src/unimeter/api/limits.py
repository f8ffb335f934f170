"""Request size limits, answered with the error envelope before the app does any work.

- URL (path and query string) longer than ``max_url_bytes``: 414.
- Headers larger than ``max_header_bytes`` in total: 431.
- A body larger than its route's limit: 413, from ``Content-Length`` before a byte is read,
  or as soon as a streamed (chunked) body passes the limit; a body is never read whole
  first. Bodies are ``max_body_bytes``; the few upload routes (``uploads``) have their own.

uvicorn's own parser refuses a request line and headers above its buffer with a bare
connection error; ``unimeter serve`` raises that buffer above these limits so that callers
get an answer that says what was too large.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import envelope


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int
    max_url_bytes: int
    max_header_bytes: int
    # Route path → its body limit, for uploads larger than any JSON request.
    uploads: Mapping[str, int] = field(default_factory=dict)


class BodyTooLargeError(HTTPException):
    """Raised from ``receive``: FastAPI passes HTTPExceptions through its body parsing, so
    the app's handler answers it with the envelope."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {describe(limit)}")


def describe(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} bytes"


class RequestLimits:
    """The limits are the app's ``state.limits`` (set with the runtime, at start-up)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limits: Limits | None = (
            getattr(scope["app"].state, "limits", None) if scope["type"] == "http" else None
        )
        if limits is None:
            await self.app(scope, receive, send)
            return
        refused = _refusal(scope, limits)
        if refused is not None:
            status, message = refused
            await JSONResponse(envelope(status, message), status_code=status)(scope, receive, send)
            return
        cap = limits.uploads.get(scope["path"], limits.max_body_bytes)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            response = JSONResponse(envelope(413, BodyTooLargeError(cap).detail), status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLargeError(cap)
            return message

        await self.app(scope, counted, send)


def _refusal(scope: Scope, limits: Limits) -> tuple[int, str] | None:
    url = len(scope.get("raw_path") or scope["path"].encode()) + len(scope["query_string"])
    if url > limits.max_url_bytes:
        return 414, f"the URL is longer than {describe(limits.max_url_bytes)}"
    headers = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
    if headers > limits.max_header_bytes:
        return 431, f"the request headers are larger than {describe(limits.max_header_bytes)}"
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
