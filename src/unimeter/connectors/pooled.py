"""What every vendor's API client shares: one connection pool, closed by the client that
opened it, and request counters that a view on the same pool keeps apart.

A sync runs several streams over one client; each stream counts its own requests into its
own :class:`~unimeter.connectors.source.RequestStats` through :meth:`PooledClient.with_stats`,
a view that shares the pool, the rate budget and the key (closing a view closes nothing).
"""

from __future__ import annotations

import copy
import functools
import ssl
from typing import Any, Self

import httpx

from .source import RequestStats


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """One TLS context for every vendor client of the process, made as httpx makes its
    default (certifi's roots, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``). Loading the roots
    took 35 ms per client, and a worker opens a client per sync; a context is safe to
    share between connections."""
    return httpx.create_ssl_context()


class PooledClient:
    """Base of a vendor's client; ``__init__`` of the subclass calls :meth:`_open_pool`."""

    _http: httpx.AsyncClient
    _stats: RequestStats
    _owns_http: bool

    def _open_pool(self, stats: RequestStats | None, **http_options: Any) -> None:
        self._stats = stats if stats is not None else RequestStats()
        self._owns_http = True
        http_options.setdefault("verify", shared_tls())
        self._http = httpx.AsyncClient(**http_options)

    @property
    def stats(self) -> RequestStats:
        return self._stats

    def with_stats(self, stats: RequestStats) -> Self:
        """A view on the same pool, budget and key that counts into ``stats``."""
        view = copy.copy(self)
        view._stats = stats
        view._owns_http = False
        return view

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
