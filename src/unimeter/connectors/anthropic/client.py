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
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from unimeter import __version__
from unimeter.connectors.attempts import Outcome, RetryingClient
from unimeter.connectors.source import RequestStats

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
    params: tuple[tuple[str, str], ...]
    content: bytes | None = None
    headers: Mapping[str, str] | None = None

    @property
    def endpoint(self) -> str:
        return urlsplit(self.path).path  # no query: safe to log and to put in errors


class AnthropicClient(RetryingClient["_Request"]):
    """One linked Anthropic organization: its key, base URL, connection pool and counters."""

    vendor = VENDOR
    log = logger

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
        return _Request(method.upper(), path, tuple(params), content, headers)

    # --- what the attempt loop asks of Anthropic (connectors/attempts.py) ------------------

    async def _draw(self, request: _Request) -> float:
        return await self._budget.acquire(self._key_id)

    def _heard(self, request: _Request, outcome: Outcome) -> None:
        if outcome.response is not None and outcome.response.status_code == 429:
            # Every sender on this key holds back and slows down, not just this task.
            self._budget.rate_limited(self._key_id, outcome.delay)
        elif outcome.response is not None:
            self._budget.succeeded(self._key_id)

    async def _hold(self, seconds: float) -> None:
        await self._budget.pause(seconds)

    def _retried(self, status: int) -> bool:
        return is_retried_status(status)

    def _asked_wait(self, headers: httpx.Headers) -> float | None:
        return retry_after(headers)

    def _trace(self, response: httpx.Response | None) -> str:
        return f" request-id={response.headers.get('request-id') if response else None}"

    def _error(self, request: _Request, outcome: Outcome) -> AnthropicError:
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
