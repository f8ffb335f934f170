"""An async client for Toy AI's admin API: bearer key plus organization header, retries on
429 (honouring ``retry-after``) and 5xx, and cursor-token paging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from unimeter.connectors.source import RequestStats

from .errors import ToyAuthError, ToyError, ToyForbiddenError, ToyNotFoundError

DEFAULT_BASE_URL = "https://api.toy-ai.invalid"


class ToyClient:
    def __init__(
        self,
        api_key: str,
        organization_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 5,
        max_wait: float = 5.0,
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "X-Organization-Id": organization_id}
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, transport=transport, timeout=timeout
        )
        self.max_attempts = max_attempts
        self.max_wait = max_wait

    async def __aenter__(self) -> ToyClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        stats: RequestStats | None = None,
    ) -> dict[str, Any]:
        response = await self.send("GET", path, params=params, stats=stats)
        if response.status_code >= 400:
            raise _error(response)
        body = response.json()
        if not isinstance(body, dict):
            raise ToyError(f"{path} answered {type(body).__name__}, not an object")
        return body

    async def pages(
        self, path: str, params: Mapping[str, str | int], stats: RequestStats | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """The ``data`` of every page, following ``next_page`` until it is null."""
        token: str | None = None
        while True:
            query = {**params, **({"page": token} if token else {})}
            body = await self.get(path, query, stats)
            yield list(body.get("data") or [])
            token = body.get("next_page")
            if not token:
                return

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        stats: RequestStats | None = None,
    ) -> httpx.Response:
        """One request with retries; the last answer is returned whatever its status."""
        stats = stats or RequestStats()
        for attempt in range(1, self.max_attempts + 1):
            stats.requests += 1
            try:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                stats.errors += 1
                if attempt == self.max_attempts:
                    raise ToyError(f"could not reach Toy AI: {type(exc).__name__}") from exc
                await self._wait(stats, min(self.max_wait, 0.05 * 2**attempt))
                continue
            if response.status_code != 429 and response.status_code < 500:
                return response
            stats.rate_limited += response.status_code == 429
            stats.errors += response.status_code >= 500
            if attempt == self.max_attempts:
                return response
            await self._wait(stats, _retry_after(response) or min(self.max_wait, 0.05 * 2**attempt))
        raise AssertionError("unreachable")

    async def _wait(self, stats: RequestStats, seconds: float) -> None:
        seconds = min(seconds, self.max_wait)
        stats.retries += 1
        stats.waited_seconds += seconds
        await asyncio.sleep(seconds)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["retry-after"])
    except (KeyError, ValueError):
        return None


def _error(response: httpx.Response) -> ToyError:
    try:
        error = response.json().get("error") or {}
        kind, message = str(error.get("type", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        kind, message = "", response.text[:200]
    text = f"{response.status_code} {kind}: {message}".strip()
    status = response.status_code
    if status == 401:
        return ToyAuthError(text, status=status, kind=kind)
    if status == 403:
        return ToyForbiddenError(text, status=status, kind=kind)
    if status == 404:
        return ToyNotFoundError(text, status=status, kind=kind)
    return ToyError(text, status=status, kind=kind)
