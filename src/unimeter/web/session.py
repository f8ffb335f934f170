"""Dashboard sign-in: the API token in an HttpOnly, SameSite=Strict cookie, and CSRF.

The cookie holds the token itself, so revoking the token signs the browser out at its next
request (the token is checked on every page, exactly as an API call would). Forms carry a
CSRF token bound to the API token with an HMAC, and state-changing requests must also come
from our own origin when the browser says where they come from.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Form, Request

from unimeter.api.deps import RuntimeDep
from unimeter.api.origin import same_origin
from unimeter.auth.service import Principal, authenticate
from unimeter.runtime import Runtime

COOKIE = "unimeter_session"
COOKIE_PATH = "/app"


class SignInRequiredError(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class CsrfRejectedError(Exception):
    """A form post without our CSRF token or from another origin."""


def csrf_token(runtime: Runtime, api_token: str) -> str:
    key = runtime.key.key.derive("unimeter/web/csrf/v1")
    return hmac.new(key, api_token.encode(), hashlib.sha256).hexdigest()


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


async def current(request: Request, runtime: RuntimeDep) -> Principal:
    token = session_token(request)
    principal = await authenticate(runtime, token) if token else None
    if principal is None:
        raise SignInRequiredError
    return principal


SessionDep = Annotated[Principal, Depends(current)]


async def checked_form(
    request: Request, runtime: RuntimeDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> None:
    token = session_token(request)
    if token is None or not same_origin(request):
        raise CsrfRejectedError
    if not hmac.compare_digest(csrf, csrf_token(runtime, token)):
        raise CsrfRejectedError


CsrfDep = Depends(checked_form)


def cookie_settings(request: Request) -> dict[str, object]:
    return {
        "key": COOKIE,
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": COOKIE_PATH,
    }
