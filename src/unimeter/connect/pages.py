"""The Connect page's HTML: templates, what each problem tells the visitor, and headers.

Every page is self-contained (inline CSS and script, no fonts or CDNs) so it works offline,
and carries a strict Content-Security-Policy: only this response's inline style and script
run (by nonce), forms post only here (or, after linking, to the token's redirect URL), and
no site may frame the page (clickjacking a key form is the classic attack).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from unimeter.connectors.contract import Connector

from .service import Problem

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


@dataclass(frozen=True, slots=True)
class Copy:
    status: int
    title: str
    detail: str
    # Whether the visitor can fix it by pasting another key (the form stays).
    retry: bool


# What each problem tells the visitor; ``{vendor}`` is the connector's display name.
PROBLEMS: dict[Problem, Copy] = {
    "unknown": Copy(
        404,
        "This link is not valid",
        "Check that you opened the whole link, or ask whoever sent it for a new one.",
        retry=False,
    ),
    "expired": Copy(
        410,
        "This link has expired",
        "Ask whoever sent it for a new link.",
        retry=False,
    ),
    "used": Copy(
        410,
        "This link has already been used",
        "A workspace was already connected with it. Ask for a new link to connect another.",
        retry=False,
    ),
    "invalid_key": Copy(
        422,
        "{vendor} did not accept this API key",
        "Check that you pasted the whole key and that it has not been revoked.",
        retry=True,
    ),
    "not_admin": Copy(
        422,
        "This key has no admin access",
        "{vendor} knows this key, but it is not an admin key. {help}",
        retry=True,
    ),
    "unavailable": Copy(
        502,
        "{vendor} could not be reached",
        "Nothing was saved. Please try again in a few minutes.",
        retry=True,
    ),
}


def copy_of(problem: Problem, connector: Connector | None = None) -> Copy:
    """The problem's copy, naming the vendor when the link says which one it is."""
    copy = PROBLEMS[problem]
    if connector is None:
        return copy
    vendor = connector.display_name
    help_text = " ".join(f.help for f in connector.credential_fields if f.help)
    return replace(
        copy,
        title=copy.title.format(vendor=vendor),
        detail=copy.detail.format(vendor=vendor, help=help_text).strip(),
    )


def missing(connector: Connector) -> Copy:
    if len(connector.credential_fields) == 1:
        return Copy(400, "Paste your API key", "The key field was empty.", retry=True)
    return Copy(400, "Fill in every field", "A field was empty.", retry=True)


def too_long(connector: Connector) -> Copy:
    if len(connector.credential_fields) == 1:
        return Copy(400, "That is not an API key", "The text pasted is far too long.", retry=True)
    return Copy(400, "That is not a credential", "A value pasted is far too long.", retry=True)


def vendor_context(connector: Connector) -> dict[str, Any]:
    """What the templates say about the vendor: its name, its word for a workspace, and the
    fields to fill in (as it declares them)."""
    return {
        "vendor": connector.display_name,
        "workspace": connector.workspace_term,
        "fields": connector.credential_fields,
    }


TOO_MANY_ATTEMPTS = Copy(429, "Too many attempts", "Wait a minute, then try again.", retry=True)
FOREIGN_ORIGIN = Copy(
    403,
    "This form was sent from another site",
    "For your safety it was ignored. Open the link you were given and submit the form there.",
    retry=False,
)


def _headers(nonce: str, form_targets: str = "") -> dict[str, str]:
    policy = (
        "default-src 'none'; "
        f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; "
        f"form-action 'self'{form_targets}; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # The URL holds the link token: never send it to another site. (Not "no-referrer":
        # that makes browsers send "Origin: null" with the form, defeating the Origin check.)
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def origin_of(url: str | None) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL; None for anything else."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def render(
    request: Request,
    template: str,
    status: int,
    *,
    redirect_url: str | None = None,
    **context: Any,
) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    target = origin_of(redirect_url)
    response = templates.TemplateResponse(
        request, template, {"nonce": nonce, **context}, status_code=status
    )
    # Chrome applies form-action to the redirect that follows a successful submit.
    response.headers.update(_headers(nonce, f" {target}" if target else ""))
    return response


def problem(request: Request, copy: Copy, **form: Any) -> HTMLResponse:
    """The form again with the message when the visitor can retry, else just the message."""
    if copy.retry:
        return render(request, "connect.html", copy.status, error=copy, **form)
    return render(request, "message.html", copy.status, message=copy)
