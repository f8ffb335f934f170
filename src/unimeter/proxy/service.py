"""Forwarding a request to the vendor through the connector's client (budget, retries).

Only the vendor's own API path prefixes are allowed and the host always comes from the
account, so no request can be steered anywhere else.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

from unimeter.accounts import service as accounts
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

# Hop-by-hop headers, and those httpx already acted on (it decompressed the body).
_DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}
_FORWARDED_HEADERS = ("content-type", "retry-after", "etag", "cache-control")


class ProxyPathError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ProxiedResponse:
    status: int
    body: bytes
    headers: dict[str, str]


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
) -> ProxiedResponse:
    connector = runtime.connector(account.integration)
    checked = checked_path(path, connector.proxy_prefixes)
    headers = {"content-type": content_type} if content_type and body else None
    async with accounts.open_source(runtime, account) as (client, _source):
        response = await client.raw_request(
            method,
            checked,
            params=httpx.QueryParams(tuple(params)),
            content=body or None,
            headers=headers,
        )
    forwarded = {
        name: value
        for name, value in response.headers.items()
        if name.lower() in _FORWARDED_HEADERS and name.lower() not in _DROPPED_HEADERS
    }
    return ProxiedResponse(status=response.status_code, body=response.content, headers=forwarded)
