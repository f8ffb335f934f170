"""Async client for Anthropic's Admin API (``/v1/organizations/…``).

Every attempt, retries included, first draws from the shared :class:`AdaptiveBudget`, then
goes out with ``x-api-key`` and ``anthropic-version`` through one ``httpx.AsyncClient`` per
linked account. Failures a later attempt can fix are retried by :class:`RetryPolicy`; the
rest become the errors of :mod:`.errors`. Both paging schemes of the API are here: the id
cursor of the roster lists (``limit``, ``after_id``) and the opaque page token of the
reports (``page`` = ``next_page``). :meth:`AnthropicClient.raw_request` hands back the
upstream response untouched, for the 1-to-1 proxy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import ValidationError

from unimeter import __version__
from unimeter.connectors.pooled import PooledClient
from unimeter.connectors.source import RequestStats
from unimeter.observability import metrics

from .budget import AdaptiveBudget, default_budget, key_id
from .errors import AnthropicError, AnthropicSchemaError, build_error
from .models import IdPage, TokenPage
from .retry import RetryPolicy, is_retried_status, retry_after

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
VENDOR = "anthropic"

logger = logging.getLogger("unimeter.anthropic")

# A query value; a sequence is sent in bracket form, once per value (``group_by[]=a``).
ParamValue = str | int | bool | Sequence[str] | None
Params = Mapping[str, ParamValue]


def encode_params(params: Params | None) -> list[tuple[str, str]]:
    """Query pairs as Anthropic reads them: arrays as repeated ``name[]``, booleans as
    ``true``/``false``, None left out."""
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            array = name if name.endswith("[]") else f"{name}[]"
            pairs.extend((array, str(item)) for item in value)
    return pairs


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str
    params: list[tuple[str, str]]
    content: bytes | None = None
    headers: Mapping[str, str] | None = None

    @property
    def endpoint(self) -> str:
        return urlsplit(self.path).path  # no query: safe to log and to put in errors


@dataclass(slots=True)
class _Outcome:
    """What one attempt produced; ``failure`` is set when another attempt may do better."""

    attempts: int
    response: httpx.Response | None = None
    payload: object = None
    decoded: bool = False
    failure: str | None = None
    retry_after: float | None = None
    delay: float = 0.0


class AnthropicClient(PooledClient):
    """One linked Anthropic organization: its key, base URL, connection pool and counters."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: AdaptiveBudget | None = None,
        minute_seconds: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        timeout: float = 60.0,
        stats: RequestStats | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = api_key
        self._key_id = key_id(api_key)
        self._budget = budget if budget is not None else default_budget(minute_seconds)
        self._retry = retry
        self._open_pool(
            stats,
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "x-api-key": api_key,
                "anthropic-version": API_VERSION,
                "accept": "application/json",
                "user-agent": f"unimeter/{__version__} (+https://github.com/unimeter)",
            },
        )

    @property
    def looks_like_api_key(self) -> bool:
        """A normal API key (``sk-ant-api…``) rather than an Admin key: it never works on
        the Admin API, whatever status the refusal has."""
        return self._secret.startswith("sk-ant-api")

    def __repr__(self) -> str:
        return f"AnthropicClient(base_url={self.base_url!r}, key={self._key_id[:12]})"

    # --- reading -------------------------------------------------------------------------

    async def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        """One GET whose answer is a JSON object; raises :class:`AnthropicError`."""
        request = self._request("GET", path, encode_params(params))
        outcome = await self._call(request, decode=True)
        if not outcome.decoded:
            raise self._error(request, outcome)
        if not isinstance(outcome.payload, dict):
            raise AnthropicSchemaError(
                f"Anthropic GET {request.endpoint}: expected a JSON object",
                endpoint=request.endpoint,
                status=200,
            )
        return outcome.payload

    async def id_pages(
        self, path: str, params: Params | None = None, *, limit: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The ``data`` of each page of an id-cursor list (``limit``, ``after_id``)."""
        after: str | None = None
        while True:
            payload = await self.get(path, {**(params or {}), "limit": limit, "after_id": after})
            page = _parse(IdPage, payload, path)
            yield page.data
            if not page.has_more or not page.last_id or page.last_id == after:
                return
            after = page.last_id

    async def token_pages(
        self, path: str, params: Params | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The ``data`` of each page of a report paged by token; every other parameter is
        sent unchanged with the token, as the API requires."""
        token: str | None = None
        while True:
            payload = await self.get(path, {**(params or {}), "page": token})
            page = _parse(TokenPage, payload, path)
            yield page.data
            if not page.has_more or not page.next_page or page.next_page == token:
                return
            token = page.next_page

    # --- proxy ---------------------------------------------------------------------------

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request as is (budget, auth and retries included) and return the final
        response, whatever its status. Raises :class:`AnthropicUnavailableError` only when
        no response came at all."""
        request = self._request(method, path, list(params), content, headers)
        outcome = await self._call(request, decode=False)
        if outcome.response is None:
            raise self._error(request, outcome)
        return outcome.response

    # --- machinery -----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Request:
        # An absolute URL would make httpx ignore the base URL and send the key elsewhere.
        parts = urlsplit(path)
        if parts.scheme or parts.netloc or not path.startswith("/"):
            raise ValueError("path must be a path on the Anthropic API, starting with '/'")
        return _Request(method.upper(), path, params, content, headers)

    async def _call(self, request: _Request, *, decode: bool) -> _Outcome:
        attempt = 1
        while True:
            outcome = await self._attempt(request, attempt, decode=decode)
            if outcome.failure is None or attempt >= self._retry.max_attempts:
                return outcome
            await self._pause(request, outcome)
            attempt += 1

    async def _attempt(self, request: _Request, attempt: int, *, decode: bool) -> _Outcome:
        waited = await self._budget.acquire(self._key_id)
        metrics.observe_wait(VENDOR, request.endpoint, waited)
        self._stats.waited_seconds += waited
        self._stats.requests += 1
        if attempt > 1:
            self._stats.retries += 1
        started = time.perf_counter()
        try:
            response = await self._http.request(
                request.method,
                request.path,
                params=tuple(request.params),
                content=request.content,
                headers=request.headers,
            )
        except httpx.TransportError as exc:
            self._stats.errors += 1
            outcome = _Outcome(attempt, failure=self._scrub(_describe(exc)))
        else:
            outcome = self._judge(response, attempt, decode=decode)
        self._log_attempt(request, outcome, time.perf_counter() - started)
        if outcome.failure is not None:
            outcome.delay = self._retry.delay_for(attempt, outcome.retry_after)
        if outcome.response is not None and outcome.response.status_code == 429:
            # Every sender on this key holds back and slows down, not just this task.
            self._budget.rate_limited(self._key_id, outcome.delay)
        elif outcome.response is not None:
            self._budget.succeeded(self._key_id)
        return outcome

    def _judge(self, response: httpx.Response, attempt: int, *, decode: bool) -> _Outcome:
        status = response.status_code
        if is_retried_status(status):
            # A 429 is the server pacing us, not a failure of the service: counted apart.
            if status == 429:
                self._stats.rate_limited += 1
            else:
                self._stats.errors += 1
            wait = retry_after(response.headers)
            return _Outcome(attempt, response, failure=f"HTTP {status}", retry_after=wait)
        if not (decode and response.is_success):
            return _Outcome(attempt, response)
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            # A connection dropped mid-body behind a proxy: transient, like a reset.
            self._stats.errors += 1
            return _Outcome(attempt, response, failure="invalid JSON body")
        return _Outcome(attempt, response, payload=payload, decoded=True)

    async def _pause(self, request: _Request, outcome: _Outcome) -> None:
        logger.info(
            "anthropic %s %s retry in %.2fs after attempt %d (%s)",
            request.method,
            request.endpoint,
            outcome.delay,
            outcome.attempts,
            outcome.failure,
        )
        metrics.observe_wait(VENDOR, request.endpoint, outcome.delay)
        self._stats.waited_seconds += outcome.delay
        self._stats.backoff_seconds += outcome.delay
        await self._budget.pause(outcome.delay)

    def _log_attempt(self, request: _Request, outcome: _Outcome, elapsed: float) -> None:
        status = outcome.response.status_code if outcome.response is not None else None
        endpoint = metrics.endpoint_label(request.endpoint)
        metrics.VENDOR_REQUESTS.labels(
            vendor=VENDOR, endpoint=endpoint, status=str(status) if status else "error"
        ).inc()
        if status == 429:
            metrics.VENDOR_RATE_LIMITED.labels(vendor=VENDOR, endpoint=endpoint).inc()
        if outcome.attempts > 1:
            metrics.VENDOR_RETRIES.labels(vendor=VENDOR, endpoint=endpoint).inc()
        request_id = outcome.response.headers.get("request-id") if outcome.response else None
        logger.debug(
            "anthropic %s %s -> %s attempt=%d elapsed=%.3fs key=%s request-id=%s",
            request.method,
            request.endpoint,
            outcome.failure or status,
            outcome.attempts,
            elapsed,
            self._key_id[:12],  # the hash's prefix tells accounts apart in logs
            request_id,
        )

    def _error(self, request: _Request, outcome: _Outcome) -> AnthropicError:
        error = build_error(
            f"Anthropic {request.method} {request.endpoint}",
            request.endpoint,
            response=outcome.response,
            failure=outcome.failure,
            attempts=outcome.attempts,
            scrub=self._scrub,
        )
        logger.info("%s", error)
        return error

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "sk-ant-…") if self._secret else text


def _parse(model: type[IdPage] | type[TokenPage], payload: dict[str, Any], path: str) -> Any:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise AnthropicSchemaError(
            f"Anthropic GET {urlsplit(path).path}: unexpected page shape at {where}: "
            f"{first['msg']}",
            endpoint=urlsplit(path).path,
            status=200,
        ) from exc


def _describe(exc: httpx.TransportError) -> str:
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
