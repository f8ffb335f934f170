"""Errors raised by the Cursor Admin API client, organised by who must act.

::

    CursorError                      base: status, body, retry_after, endpoint
    │
    │  the customer must fix the linked account (never retried)
    ├── CursorAuthError              401: the key is revoked, wrong or lacks a scope
    ├── CursorForbiddenError         403: the plan or feature is not enabled for the team
    │
    │  a developer must fix the request or the client
    ├── CursorBadRequestError        400 and other 4xx not listed here
    ├── CursorNotFoundError          404
    ├── CursorSchemaError            2xx whose JSON does not have the documented shape
    │
    │  nobody: try again later (raised only once every attempt has failed)
    ├── CursorRateLimitError         429
    ├── CursorServerError            5xx
    └── CursorUnavailableError       connect errors, timeouts, dropped connections, bad bodies

``transient`` tells a sync job whether a later run may succeed without anyone acting.
Messages are one line and never contain the API key: the client scrubs it from anything the
server echoes before building an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

import httpx
import orjson
from pydantic import ValidationError

from .retry import parse_retry_after

_TAG = re.compile(r"<[^>]+>")


class CursorError(Exception):
    """Base of every error the Cursor client raises."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",  # a default lets pickle rebuild the error from its message
        status: int | None = None,
        body: object | None = None,
        retry_after: float | None = None,
    ) -> None:
        # One line, whatever the server put in its message (HTML pages have many).
        super().__init__(" ".join(message.split()))
        self.endpoint = endpoint
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, status={self.status!r})"


class CursorAuthError(CursorError):
    """401: the API key was revoked, is wrong, or lacks the needed scope."""

    @property
    def missing_scope(self) -> bool:
        """Cursor answers 401 for a working key without the needed scope too; only the
        message tells them apart ("API key missing required scope: admin:*")."""
        return "missing required scope" in _detail(self.body).lower()


class CursorForbiddenError(CursorError):
    """403: the team's plan or rollout does not include this endpoint."""


class CursorBadRequestError(CursorError):
    """400, or another 4xx the client does not recognise: the request itself is wrong."""


class CursorNotFoundError(CursorError):
    """404: the path or the object (a billing group, say) does not exist."""


class CursorSchemaError(CursorError):
    """A successful response whose JSON does not match the documented shape."""


class CursorRateLimitError(CursorError):
    """429 still returned after every attempt."""

    transient = True


class CursorServerError(CursorError):
    """5xx still returned after every attempt."""

    transient = True


class CursorUnavailableError(CursorError):
    """No usable response after every attempt: transport failures and unparseable bodies."""

    transient = True


def error_for_status(status: int) -> type[CursorError]:
    """The error class for a final, unsuccessful HTTP status."""
    if status == 401:
        return CursorAuthError
    if status == 403:
        return CursorForbiddenError
    if status == 404:
        return CursorNotFoundError
    if status == 429:
        return CursorRateLimitError
    if status >= 500:
        return CursorServerError
    if 400 <= status < 500:
        return CursorBadRequestError
    # 1xx/3xx: redirects are not followed, so a 3xx usually means a wrong base URL.
    return CursorError


def build_error(
    where: str,
    endpoint: str,
    *,
    response: httpx.Response | None,
    failure: str | None,
    attempts: int,
    scrub: Callable[[str], str],
) -> CursorError:
    """The error for the last attempt of a request that did not succeed.

    ``where`` names the request for people (``Cursor GET /teams/members``); ``scrub``
    removes the secret from anything that came from the server.
    """
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if response is None or response.is_success:
        reason = failure or "no usable response"
        status = None if response is None else response.status_code
        return CursorUnavailableError(
            scrub(f"{where}: {reason}{tries}"), endpoint=endpoint, status=status
        )
    body = _error_body(response, scrub)
    detail = _detail(body)
    status_text = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    message = f"{where}: {status_text}{': ' + detail if detail else ''}{tries}"
    return error_for_status(response.status_code)(
        scrub(message),
        endpoint=endpoint,
        status=response.status_code,
        body=body,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def schema_error(
    where: str, endpoint: str, exc: ValidationError, *, status: int, payload: object
) -> CursorSchemaError:
    """A readable one-liner for a 2xx body that the models reject."""
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    message = (
        f"{where}: unexpected response shape ({exc.error_count()} problem(s), "
        f"first at {location}: {first['msg']})"
    )
    return CursorSchemaError(message, endpoint=endpoint, status=status, body=payload)


def _error_body(response: httpx.Response, scrub: Callable[[str], str]) -> object | None:
    """The parsed JSON body, else the start of the text (an HTML error page, say)."""
    if not response.content:
        return None
    try:
        body: object = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return scrub(response.text[:2000])
    return body


def _detail(body: object | None) -> str:
    """The human part of Cursor's several error shapes (cursor-api.md §1.9)."""
    if isinstance(body, dict):
        error = body.get("error")
        nested = error.get("message") if isinstance(error, dict) else None
        for candidate in (body.get("message"), nested, error):
            if isinstance(candidate, str) and candidate.strip():
                return " ".join(candidate.split())[:300]
        return ""
    if isinstance(body, str):
        return " ".join(_TAG.sub(" ", body).split())[:300]
    return ""
