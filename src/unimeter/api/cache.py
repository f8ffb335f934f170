"""A response cache for the unified API, keyed by caller, URL and the account's data version.

Dashboards and page walks ask the same questions again and again, and the answers only
change when a sync writes. Every write bumps the account's ``data_version``; a cached
response is served only while the version it was computed at is still current. A version
read is trusted for 250 ms, except that a write committed in this process makes the process
forget the versions it changed (:class:`DataVersions`, wired by the app): a sync or edit
made here shows in the next answer, and one made by another process within those 250 ms.
Entries are per token, so a response computed for one environment can never be served to
another. Responses carry an ``ETag``; a matching ``If-None-Match`` gets a 304 with no body.

Authentication results are trusted for ``token_ttl`` seconds, so a revoked token stops
working within that delay on a cache hit (and at once on a miss).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unimeter.auth.service import Principal, authenticate
from unimeter.runtime import Runtime
from unimeter.tenancy import repository as tenancy

from .errors import ApiError, envelope

CACHEABLE_PREFIX = "/unified/usage-metering/"
K = TypeVar("K")
V = TypeVar("V")


@dataclass(slots=True)
class _Entry:
    version: int
    body: bytes
    headers: list[tuple[bytes, bytes]]
    etag: bytes
    # The route that computed it, so latency metrics label hits like misses.
    route: Any = None


class DataVersions:
    """The accounts' data versions as last read, trusted for ``ttl`` seconds; an account's
    is forgotten (read again next time) when this process commits a change to its data."""

    def __init__(self, ttl: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self._recent: _Recent[str, int | None] = _Recent(ttl, clock)

    async def get(self, runtime: Runtime, account_id: str) -> int | None:
        async def load() -> int | None:
            async with runtime.db.reader() as session:
                versions = await tenancy.data_versions(session, [account_id])
            return versions.get(account_id)

        return await self._recent.get(account_id, load)

    def forget(self, account_ids: Iterable[str]) -> None:
        for account_id in account_ids:
            self._recent.forget(account_id)


class ResponseCache:
    def __init__(
        self,
        app: ASGIApp,
        *,
        versions: DataVersions,
        max_bytes: int = 64 * 1024 * 1024,
        token_ttl: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.token_ttl = token_ttl
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str, bytes], _Entry] = OrderedDict()
        self._bytes = 0
        # Given, not made here: the app wires its commit hook (a cache of its own would
        # never hear of this process's writes).
        self._versions = versions
        self._tokens: _Recent[str, Principal | None] = _Recent(token_ttl, clock, limit=10_000)
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _cacheable(scope)
        if request is None:
            await self.app(scope, receive, send)
            return
        token, account_id = request
        runtime: Runtime = scope["app"].state.runtime
        principal = await self._principal(runtime, token)
        if principal is None:
            await self.app(scope, receive, send)  # the app answers 401
            return
        key = (
            hashlib.sha256(token.encode()).hexdigest(),
            scope["path"],
            scope.get("query_string", b""),
        )
        version = await self._versions.get(runtime, account_id)
        entry = self._entries.get(key)
        if entry is not None and version is not None and entry.version == version:
            self.hits += 1
            self._entries.move_to_end(key)
            scope["route"] = entry.route
            await self._serve(scope, send, principal, account_id, entry)
            return
        self.misses += 1
        await self._compute(scope, receive, send, key, version)

    async def _serve(
        self, scope: Scope, send: Send, principal: Principal, account_id: str, entry: _Entry
    ) -> None:
        state = scope["app"].state
        try:
            state.limiter.check(f"token:{principal.token_id}", state.token_limit)
            state.limiter.check(f"account:{account_id}", state.account_limit)
        except ApiError as exc:
            body = orjson.dumps(envelope(exc.status, exc.message))
            headers = [(b"content-type", b"application/json")]
            headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            await _send(send, exc.status, headers, body)
            return
        if _header(scope, b"if-none-match") == entry.etag:
            await _send(send, 304, [(b"etag", entry.etag)], b"")
            return
        await _send(send, 200, entry.headers, entry.body)

    async def _compute(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[str, str, bytes],
        version: int | None,
    ) -> None:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        status = int(started.get("status", 500))
        headers = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
        if status != 200:
            await _send(send, status, headers, body)
            return
        etag = b'W/"' + hashlib.sha256(body).hexdigest()[:20].encode() + b'"'
        headers.append((b"etag", etag))
        if version is not None:
            entry = _Entry(version, body, headers, etag, route=scope.get("route"))
            self._store(key, entry)
        if _header(scope, b"if-none-match") == etag:
            await _send(send, 304, [(b"etag", etag)], b"")
            return
        await _send(send, 200, headers, body)

    def _store(self, key: tuple[str, str, bytes], entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        if len(entry.body) > self.max_bytes // 8:
            return  # one giant page must not evict everything else
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._bytes > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)

    async def _principal(self, runtime: Runtime, token: str) -> Principal | None:
        return await self._tokens.get(token, lambda: authenticate(runtime, token))


class _Recent(Generic[K, V]):
    """Values trusted for ``ttl`` seconds, refreshed by one caller at a time.

    Under load many requests find a value expired at once; only the first reloads it, the
    others keep using the previous value meanwhile (or wait for the first load of a key).
    """

    def __init__(self, ttl: float, clock: Callable[[], float], limit: int = 100_000) -> None:
        self.ttl = ttl
        self.clock = clock
        self.limit = limit
        self._values: dict[K, tuple[V, float]] = {}
        self._loading: dict[K, asyncio.Future[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        known = self._values.get(key)
        if known is not None and known[1] > self.clock():
            return known[0]
        pending = self._loading.get(key)
        if pending is not None:
            return known[0] if known is not None else await asyncio.shield(pending)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it twice
            raise
        finally:
            ours = self._loading.get(key) is future
            if ours:
                del self._loading[key]
        # Kept unless forgotten meanwhile: then it may predate what made it forgotten.
        if ours:
            if len(self._values) >= self.limit:
                self._values.clear()
            self._values[key] = (value, self.clock() + self.ttl)
        future.set_result(value)
        return value

    def forget(self, key: K) -> None:
        """Trust no value of ``key`` read so far, nor one being read now: the next
        :meth:`get` reads it again."""
        self._values.pop(key, None)
        self._loading.pop(key, None)


def _cacheable(scope: Scope) -> tuple[str, str] | None:
    """(token, account id) for a cacheable request, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    if not scope["path"].startswith(CACHEABLE_PREFIX):
        return None
    auth = _header(scope, b"authorization")
    if auth is None or not auth.lower().startswith(b"bearer "):
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    account = query.get("integrated_account_id")
    if not account or query.get("mode", ["stored"])[0] != "stored":
        return None  # live reads are fresh by definition
    return auth[7:].strip().decode("latin-1"), account[0]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
