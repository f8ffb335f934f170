"""Forwarding a request to the vendor through its connector (rate budget, retries).

Only the vendor's own API path prefixes are allowed and the host always comes from the
account, so no request can be steered anywhere else.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from unimeter.accounts import service as accounts
from unimeter.connectors.contract import ProxyRequest, ProxyResponse
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

# Hop-by-hop headers, and those the client already acted on (it decompressed the body).
_DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}
_FORWARDED_HEADERS = ("content-type", "retry-after", "etag", "cache-control")


class ProxyPathError(ValueError):
    pass


def checked_path(path: str, allowed_prefixes: tuple[str, ...]) -> str:
    raw = "/" + path.lstrip("/")
    decoded = unquote(raw)
    if "\\" in decoded or "//" in decoded or ".." in decoded.split("/") or "\x00" in decoded:
        raise ProxyPathError("the path must be a plain API path")
    normalized = posixpath.normpath(decoded)
    if not any((normalized + "/").startswith(prefix) for prefix in allowed_prefixes):
        allowed = ", ".join(allowed_prefixes)
        raise ProxyPathError(f"only these path prefixes can be proxied: {allowed}")
    return raw


async def forward(
    runtime: Runtime,
    account: IntegratedAccount,
    method: str,
    path: str,
    params: list[tuple[str, str]],
    body: bytes,
    content_type: str | None,
) -> ProxyResponse:
    """The vendor's answer, whatever its status (VendorUnavailableError when none came)."""
    connector = runtime.registry.get(account.integration)
    request = ProxyRequest(
        method=method,
        path=checked_path(path, connector.proxy_prefixes),
        params=tuple(params),
        body=body or None,
        headers={"content-type": content_type} if content_type and body else {},
    )
    response = await accounts.proxy(runtime, account, request)
    forwarded = {
        name: value
        for name, value in response.headers.items()
        if name.lower() in _FORWARDED_HEADERS and name.lower() not in _DROPPED_HEADERS
    }
    return ProxyResponse(status=response.status, body=response.body, headers=forwarded)
