"""Where a browser's form post comes from, for the HTML pages (dashboard, Connect page)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request


def same_origin(request: Request) -> bool:
    """Browsers send ``Origin`` on POST; when they do, it must name this server. No Origin
    (an old browser, a script) passes: cookies are SameSite=Strict and link tokens are
    capabilities. ``null`` (sandboxed frames, some redirects) does not."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
