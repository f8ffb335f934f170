"""Dashboard sign-in: a signed, expiring session cookie (never the API token), and CSRF.

Signing in checks the pasted API token once; the HttpOnly, SameSite=Strict cookie then holds
``s1.<token id>.<expiry ms>.<nonce>.<HMAC-SHA256>`` under a key derived (HKDF) from the master
key. It carries the token's *id*, not its secret, so a stolen cookie is not an API key: the
API never accepts it, and it stops working at its expiry (``UNIMETER_SESSION_HOURS``, 12 by
default). Every page looks the token up by id, so revoking the token signs every browser
out at its next request. Rotating the master key changes the signing key: everyone signs
in again.

Forms carry a CSRF token bound to the session cookie with an HMAC, and state-changing
requests must also come from our own origin when the browser says where they come from.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request

from unimeter.api.deps import RuntimeDep
from unimeter.api.origin import same_origin
from unimeter.auth.service import Principal, principal_by_id
from unimeter.db.base import now_ms
from unimeter.runtime import Runtime

COOKIE = "unimeter_session"
COOKIE_PATH = "/app"
VERSION = "s1"
_SESSION_KEY = "unimeter/web/session/v1"
_CSRF_KEY = "unimeter/web/csrf/v2"
_MAX_COOKIE = 300  # far above a real session; bounds the work done on garbage


class SignInRequiredError(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class CsrfRejectedError(Exception):
    """A form post without our CSRF token or from another origin."""


def _mac(runtime: Runtime, payload: str) -> str:
    digest = hmac.new(runtime.key.key.derive(_SESSION_KEY), payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def issue(runtime: Runtime, token_id: str, *, now: int | None = None) -> str:
    """A session value for ``token_id``, valid for ``session_hours`` from ``now``."""
    issued = now_ms() if now is None else now
    expires = issued + round(runtime.settings.session_hours * 3_600_000)
    payload = f"{VERSION}.{token_id}.{expires}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_mac(runtime, payload)}"


def token_id_of(runtime: Runtime, value: str, *, now: int | None = None) -> str | None:
    """The token id a session value was issued for, or None when it is malformed, altered or
    expired. The token itself (revoked or not) is checked by the caller."""
    parts = value.split(".") if len(value) <= _MAX_COOKIE else []
    if len(parts) != 5 or parts[0] != VERSION or not parts[2].isdigit():
        return None
    payload, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac.encode(), _mac(runtime, payload).encode()):
        return None
    if int(parts[2]) <= (now_ms() if now is None else now):
        return None
    return parts[1]


def csrf_token(runtime: Runtime, session: str) -> str:
    key = runtime.key.key.derive(_CSRF_KEY)
    return hmac.new(key, session.encode(), hashlib.sha256).hexdigest()


def session_value(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


async def principal_of(runtime: Runtime, request: Request) -> Principal | None:
    """Who the session cookie signs in, if it is intact, unexpired and its token active."""
    value = session_value(request)
    token_id = token_id_of(runtime, value) if value else None
    return await principal_by_id(runtime, token_id) if token_id else None


async def current(request: Request, runtime: RuntimeDep) -> Principal:
    principal = await principal_of(runtime, request)
    if principal is None:
        raise SignInRequiredError
    return principal


SessionDep = Annotated[Principal, Depends(current)]


async def checked_form(
    request: Request, runtime: RuntimeDep, csrf: Annotated[str, Form(max_length=128)] = ""
) -> None:
    value = session_value(request)
    if value is None or not same_origin(request):
        raise CsrfRejectedError
    # Bytes: compare_digest refuses non-ASCII text with a TypeError (a 500).
    if not hmac.compare_digest(csrf.encode(), csrf_token(runtime, value).encode()):
        raise CsrfRejectedError


CsrfDep = Depends(checked_form)


def cookie_settings(request: Request, runtime: Runtime) -> dict[str, object]:
    return {
        "key": COOKIE,
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
        "path": COOKIE_PATH,
        # The browser drops it when the signature stops being honoured anyway.
        "max_age": round(runtime.settings.session_hours * 3600),
    }
