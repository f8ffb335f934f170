"""Errors raised by the Anthropic Admin API client, organised by who must act.

::

    AnthropicError                   base: status, error type, request id, endpoint
    │
    │  the customer must fix the linked account (never retried)
    ├── AnthropicAuthError           401 authentication_error: key wrong, revoked, not admin
    ├── AnthropicPermissionError     403 permission_error: the key lacks access (not admin)
    │
    │  a developer must fix the request or the client
    ├── AnthropicBadRequestError     400 and any other 4xx not listed here
    ├── AnthropicNotFoundError       404 not_found_error
    ├── AnthropicSchemaError         2xx whose JSON does not have the documented shape
    ├── MappingError                 a value the mapping refuses (a non-finite cost, say)
    │
    │  nobody: try again later (raised only once every attempt has failed)
    ├── AnthropicRateLimitError      429 rate_limit_error
    ├── AnthropicServerError         5xx, 529 overloaded_error
    └── AnthropicUnavailableError    connect errors, timeouts, dropped connections, bad bodies

Anthropic's error envelope is ``{"type": "error", "error": {"type", "message"},
"request_id"}``; the type decides the class, and an unknown type (the docs say the list
grows) falls back to the HTTP status. Messages are one line and never hold the key: the
client scrubs anything the server echoes before building an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

import httpx
import orjson

_TAG = re.compile(r"<[^>]+>")


class AnthropicError(Exception):
    """Base of every error the Anthropic client raises."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
    ) -> None:
        # One line, whatever the server put in its message (HTML pages have many).
        super().__init__(" ".join(message.split()))
        self.endpoint = endpoint
        self.status = status
        self.error_type = error_type
        # Anthropic's support asks for it; it identifies the request, not the caller.
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class AnthropicAuthError(AnthropicError):
    """401: the key is missing, wrong, revoked (or, perhaps, not an Admin key)."""


class AnthropicPermissionError(AnthropicError):
    """403: the key works but may not use this resource (a normal API key, say)."""


class AnthropicBadRequestError(AnthropicError):
    """400, or another 4xx the client does not recognise: the request itself is wrong."""


class AnthropicNotFoundError(AnthropicError):
    """404: the path or the object does not exist."""


class AnthropicSchemaError(AnthropicError):
    """A successful response whose JSON does not match the documented shape."""


class MappingError(AnthropicError):
    """A value the mapping cannot turn into a record exactly; the message names the field."""


class AnthropicRateLimitError(AnthropicError):
    """429 still returned after every attempt."""

    transient = True


class AnthropicServerError(AnthropicError):
    """5xx (529 overloaded included) still returned after every attempt."""

    transient = True


class AnthropicUnavailableError(AnthropicError):
    """No usable response after every attempt: transport failures and unreadable bodies."""

    transient = True


_BY_TYPE: dict[str, type[AnthropicError]] = {
    "authentication_error": AnthropicAuthError,
    "permission_error": AnthropicPermissionError,
    "not_found_error": AnthropicNotFoundError,
    "invalid_request_error": AnthropicBadRequestError,
    "rate_limit_error": AnthropicRateLimitError,
    "api_error": AnthropicServerError,
    "overloaded_error": AnthropicServerError,
    "timeout_error": AnthropicServerError,
}


def error_for_status(status: int) -> type[AnthropicError]:
    """The error class for a final, unsuccessful HTTP status."""
    by_status: dict[int, type[AnthropicError]] = {
        401: AnthropicAuthError,
        403: AnthropicPermissionError,
        404: AnthropicNotFoundError,
        429: AnthropicRateLimitError,
    }
    if status in by_status:
        return by_status[status]
    if status >= 500:
        return AnthropicServerError
    if 400 <= status < 500:
        return AnthropicBadRequestError
    # 1xx/3xx: redirects are not followed, so a 3xx usually means a wrong base URL.
    return AnthropicError


def error_class(status: int, error_type: str | None) -> type[AnthropicError]:
    """The class for an answer: by ``error.type`` when known and consistent, else by status.

    The status wins for 401 and 403, so an unexpected type on those still reads as the
    access problem it is.
    """
    if status in (401, 403) or error_type not in _BY_TYPE:
        return error_for_status(status)
    return _BY_TYPE[error_type]


def build_error(
    where: str,
    endpoint: str,
    *,
    response: httpx.Response | None,
    failure: str | None,
    attempts: int,
    scrub: Callable[[str], str],
) -> AnthropicError:
    """The error for the last attempt of a request that did not succeed.

    ``where`` names the request for people (``Anthropic GET /v1/organizations/users``);
    ``scrub`` removes the secret from anything that came from the server.
    """
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if response is None or response.is_success:
        reason = failure or "no usable response"
        status = None if response is None else response.status_code
        request_id = None if response is None else response.headers.get("request-id")
        return AnthropicUnavailableError(
            scrub(f"{where}: {reason}{tries}"),
            endpoint=endpoint,
            status=status,
            request_id=request_id,
        )
    error_type, detail = _envelope(response, scrub)
    request_id = response.headers.get("request-id")
    status_text = f"HTTP {response.status_code}"
    kind = f" {error_type}" if error_type else ""
    rid = f" (request-id {request_id})" if request_id else ""
    message = f"{where}: {status_text}{kind}{': ' + detail if detail else ''}{tries}{rid}"
    return error_class(response.status_code, error_type)(
        scrub(message),
        endpoint=endpoint,
        status=response.status_code,
        error_type=error_type,
        request_id=request_id,
    )


def _envelope(response: httpx.Response, scrub: Callable[[str], str]) -> tuple[str | None, str]:
    """``error.type`` and a readable detail from Anthropic's envelope, or from the text."""
    if not response.content:
        return None, ""
    try:
        body: object = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        # An HTML page from a proxy in front of the API (a 502, say): its text, no tags.
        return None, scrub(" ".join(_TAG.sub(" ", response.text[:2000]).split())[:300])
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error")
    if not isinstance(error, dict):
        return None, ""
    error_type = error.get("type") if isinstance(error.get("type"), str) else None
    message = error.get("message")
    detail = " ".join(message.split())[:300] if isinstance(message, str) else ""
    return error_type, scrub(detail)
