"""Async client for Cursor's team Admin API.

Every attempt, retries included, first draws from the shared :class:`RateBudget`, then goes
out with Basic auth through one ``httpx.AsyncClient`` per linked account. Failures that a
later attempt can fix are retried by :class:`RetryPolicy`; the rest become the errors of
:mod:`.errors`. Typed methods return the models of :mod:`.models`; :meth:`raw_request` hands
back the upstream response untouched, for a 1-to-1 proxy.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import orjson
from pydantic import ValidationError

from unimeter import __version__
from unimeter.connectors.attempts import Outcome, RetryingClient
from unimeter.connectors.source import RequestStats

from .auth import CursorBasicAuth, basic_token, mask_key
from .budget import RateBudget, default_budget, endpoint_bucket, key_id
from .errors import CursorError, build_error, schema_error
from .models import (
    AuditLogResponse,
    CursorModel,
    DailyUsageResponse,
    GroupResponse,
    GroupsResponse,
    MembersResponse,
    SpendResponse,
    UsageEventsPage,
    UsageEventsResponse,
)
from .retry import RetryPolicy, is_retriable_status, parse_retry_after

DEFAULT_BASE_URL = "https://api.cursor.com"

logger = logging.getLogger("unimeter.cursor")

Params = httpx.QueryParams | Mapping[str, str | int | float | bool | None]
M = TypeVar("M", bound=CursorModel)


@dataclass
class CursorStats(RequestStats):
    """Request counters (``not_modified`` counts the conditional requests Cursor answered
    304, unchanged)."""


@dataclass(frozen=True, slots=True)
class Conditional(Generic[M]):
    """A conditional GET's answer: the parsed body and its ``ETag``, or ``model`` None when
    Cursor answered 304 Not Modified (the body we saw with that ETag is still current)."""

    model: M | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    path: str  # as sent (may carry a query string for raw requests)
    endpoint: str  # path only: safe to log and to put in errors
    group: str
    params: Params | None = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


class CursorClient(RetryingClient["_Request"]):
    """One linked Cursor account: its key, base URL, connection pool and counters."""

    vendor = "cursor"
    log = logger

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RateBudget | None = None,
        minute_seconds: float = 60.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing it is safe
        timeout: float = 60.0,
        stats: RequestStats | None = None,
    ) -> None:
        auth = CursorBasicAuth(api_key)
        self.base_url = base_url.rstrip("/")
        self._key_id = key_id(api_key)
        self._key_hint = mask_key(api_key)
        # Forms of the secret that a server could echo back into an error message.
        self._secrets = (api_key, basic_token(api_key))
        self._budget = budget if budget is not None else default_budget(minute_seconds)
        self._retry = retry
        self._open_pool(
            stats,
            base_url=self.base_url,
            transport=transport,
            auth=auth,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": f"unimeter/{__version__}"},
        )

    @property
    def cache_scope(self) -> tuple[str, str]:
        """Who and where this client asks (the key's hash and the base URL), for caches of
        answers: two accounts sharing a key are one team at Cursor."""
        return self._key_id, self.base_url

    def __repr__(self) -> str:
        return f"CursorClient(base_url={self.base_url!r}, key={self._key_hint})"

    # --- typed endpoints ----------------------------------------------------------------

    async def verify(self) -> MembersResponse:
        """A cheap call that proves the key works (Cursor's own suggestion)."""
        return await self.members()

    async def members(self) -> MembersResponse:
        return await self._typed(MembersResponse, "GET", "/teams/members")

    async def daily_usage(
        self, start_ms: int, end_ms: int, *, page: int | None = None, page_size: int | None = None
    ) -> DailyUsageResponse:
        """Per-user daily rows. With ``page`` and ``page_size`` Cursor returns every member of
        the range (with ``isActive``) and pagination; without them only active rows."""
        if (page is None) != (page_size is None):
            raise ValueError("page and page_size change Cursor's semantics only together")
        body: dict[str, object] = {"startDate": _ms(start_ms), "endDate": _ms(end_ms)}
        if page is not None:
            body |= {"page": page, "pageSize": page_size}
        return await self._typed(DailyUsageResponse, "POST", "/teams/daily-usage-data", body=body)

    async def spend(
        self,
        *,
        page: int = 1,
        page_size: int = 100,
        search_term: str | None = None,
        sort_by: str | None = None,
        sort_direction: str | None = None,
    ) -> SpendResponse:
        body = _without_none(
            page=page,
            pageSize=page_size,
            searchTerm=search_term,
            sortBy=sort_by,
            sortDirection=sort_direction,
        )
        return await self._typed(SpendResponse, "POST", "/teams/spend", body=body)

    async def usage_events(
        self,
        start_ms: int,
        end_ms: int,
        *,
        page: int = 1,
        page_size: int = 1000,
        email: str | None = None,
        user_id: int | None = None,
    ) -> UsageEventsResponse:
        """Events in ``[start_ms, end_ms]`` (both inclusive), newest first."""
        body = _events_body(start_ms, end_ms, page, page_size, email=email, user_id=user_id)
        return await self._typed(UsageEventsResponse, "POST", EVENTS_PATH, body=body)

    async def usage_events_page(
        self, start_ms: int, end_ms: int, *, page: int = 1, page_size: int = 1000
    ) -> UsageEventsPage:
        """Like :meth:`usage_events`, the events left as decoded JSON (see ``event_mapping``)."""
        body = _events_body(start_ms, end_ms, page, page_size)
        return await self._typed(UsageEventsPage, "POST", EVENTS_PATH, body=body)

    async def audit_logs(
        self,
        start_ms: int,
        end_ms: int,
        *,
        page: int = 1,
        page_size: int = 500,
        event_types: list[str] | None = None,
    ) -> AuditLogResponse:
        # The audit log takes query parameters; epoch ms is one of its accepted time forms.
        params: dict[str, str | int] = {
            "startTime": _ms(start_ms),
            "endTime": _ms(end_ms),
            "page": page,
            "pageSize": page_size,
        }
        if event_types:
            params["eventTypes"] = ",".join(event_types)
        return await self._typed(AuditLogResponse, "GET", "/teams/audit-logs", params=params)

    async def groups(self, billing_cycle: date | None = None) -> GroupsResponse:
        params = _cycle_params(billing_cycle)
        return await self._typed(GroupsResponse, "GET", "/teams/groups", params=params)

    async def group(self, group_id: str, billing_cycle: date | None = None) -> GroupResponse:
        path = f"/teams/groups/{quote(group_id, safe='')}"
        params = _cycle_params(billing_cycle)
        return await self._typed(GroupResponse, "GET", path, params=params)

    async def get(self, model: type[M], path: str, *, params: Params | None = None) -> M:
        """A typed ``GET`` of any read endpoint (Cloud Agents, say)."""
        return await self._typed(model, "GET", path, params=params)

    async def conditional_get(
        self, model: type[M], path: str, params: Params, etag: str | None
    ) -> Conditional[M]:
        """``GET path`` with ``If-None-Match: etag`` when one is known (Analytics and AI Code
        Tracking, cursor-api.md §1.8): a 304 comes back as ``Conditional(None, etag)``."""
        headers = None if etag is None else {"If-None-Match": etag}
        request = self._request("GET", path, params=params, headers=headers)
        outcome = await self._call(request, decode=True)
        response = outcome.response
        if response is not None and response.status_code == 304:
            if isinstance(self._stats, CursorStats):
                self._stats.not_modified += 1
            return Conditional(None, response.headers.get("ETag") or etag)
        if not outcome.decoded or response is None:
            raise self._error(request, outcome)
        try:
            parsed = model.model_validate(outcome.payload)
        except ValidationError as exc:
            where = f"Cursor GET {request.endpoint}"
            raise schema_error(
                where, request.endpoint, exc, status=response.status_code, payload=outcome.payload
            ) from exc
        return Conditional(parsed, response.headers.get("ETag"))

    # --- proxy --------------------------------------------------------------------------

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request as is (budget, auth and retries included) and return the final
        response unchanged, whatever its status. Raises :class:`CursorUnavailableError`
        only when no response could be obtained at all."""
        request = self._request(method, path, params=params, content=content, headers=headers)
        outcome = await self._call(request, decode=False)
        if outcome.response is None:
            raise self._error(request, outcome)
        return outcome.response

    # --- machinery ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Request:
        # An absolute URL would make httpx ignore the base URL and send the key elsewhere.
        parts = urlsplit(path)
        if parts.scheme or parts.netloc or not path.startswith("/"):
            raise ValueError("path must be a path on the Cursor API, starting with '/'")
        verb = method.upper()
        endpoint = parts.path
        group = endpoint_bucket(verb, endpoint)
        return _Request(verb, path, endpoint, group, params, content, headers)

    async def _typed(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, object] | None = None,
    ) -> M:
        content = None if body is None else orjson.dumps(body)
        headers = None if body is None else {"Content-Type": "application/json"}
        request = self._request(method, path, params=params, content=content, headers=headers)
        outcome = await self._call(request, decode=True)
        if not outcome.decoded:
            raise self._error(request, outcome)
        try:
            return model.model_validate(outcome.payload)
        except ValidationError as exc:
            where = f"Cursor {request.method} {request.endpoint}"
            status = outcome.response.status_code if outcome.response is not None else 200
            raise schema_error(
                where, request.endpoint, exc, status=status, payload=outcome.payload
            ) from exc

    # --- what the attempt loop asks of Cursor (connectors/attempts.py) ---------------------

    async def _draw(self, request: _Request) -> float:
        return await self._budget.acquire(self._key_id, request.group)

    def _heard(self, request: _Request, outcome: Outcome) -> None:
        if outcome.response is not None and outcome.response.status_code == 429:
            # Everyone on this key and group holds back, not just this task, and even when
            # this task has no attempts left.
            self._budget.penalize(self._key_id, request.group, outcome.delay)

    async def _hold(self, seconds: float) -> None:
        await self._budget.pause(seconds)

    def _retried(self, status: int) -> bool:
        return is_retriable_status(status)

    def _asked_wait(self, headers: httpx.Headers) -> float | None:
        return parse_retry_after(headers.get("Retry-After"))

    def _error(self, request: _Request, outcome: Outcome) -> CursorError:
        error = build_error(
            f"Cursor {request.method} {request.endpoint}",
            request.endpoint,
            response=outcome.response,
            failure=outcome.failure,
            attempts=outcome.attempts,
            scrub=self._scrub,
        )
        # The error is raised to the caller, who decides whether it is worth a warning.
        logger.info("%s", error)
        return error

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, self._key_hint)
        return text


def _ms(value: int) -> int:
    # Cursor wants JSON numbers; a float would serialise as 1.78e12 and a bool as true.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"epoch milliseconds must be an int, not {type(value).__name__}")
    return value


EVENTS_PATH = "/teams/filtered-usage-events"


def _events_body(
    start_ms: int,
    end_ms: int,
    page: int,
    page_size: int,
    *,
    email: str | None = None,
    user_id: int | None = None,
) -> dict[str, object]:
    return _without_none(
        startDate=_ms(start_ms),
        endDate=_ms(end_ms),
        page=page,
        pageSize=page_size,
        email=email,
        userId=user_id,
    )


def _without_none(**values: object) -> dict[str, object]:
    return {name: value for name, value in values.items() if value is not None}


def _cycle_params(billing_cycle: date | None) -> dict[str, str] | None:
    return None if billing_cycle is None else {"billingCycle": billing_cycle.isoformat()}
