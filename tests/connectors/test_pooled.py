"""The pool every vendor's client opens: one TLS context for the process, not one each."""

from __future__ import annotations

import ssl

import httpx

from unimeter.connectors.pooled import PooledClient, shared_tls


class _Client(PooledClient):
    def __init__(self, **http_options: object) -> None:
        self._open_pool(None, **http_options)


def _tls_of(client: _Client) -> ssl.SSLContext:
    # httpx keeps the context on its default transport's connection pool.
    context: ssl.SSLContext = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
    return context


async def test_clients_share_one_tls_context_that_verifies_servers() -> None:
    first, second = _Client(), _Client()
    try:
        assert _tls_of(first) is _tls_of(second) is shared_tls()
        assert shared_tls().verify_mode == ssl.CERT_REQUIRED
        assert shared_tls().check_hostname
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_client_given_its_own_verification_keeps_it() -> None:
    own = httpx.create_ssl_context()
    client = _Client(verify=own)
    try:
        assert _tls_of(client) is own
    finally:
        await client.aclose()
