"""Toy AI as a sync source: three streams over cursor-paged endpoints.

- ``members``: a snapshot, required (identity for everything else).
- ``usage``: the per-day usage report, read in day windows; yesterday is re-read because
  Toy AI finishes a day's report only after it ends.
- ``audit_log``: enterprise plans only; any other plan gets 403 ``plan_error``, which makes
  the stream ``unavailable`` while the run succeeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

from unimeter.connectors.errors import (
    SourceAuthError,
    SourceUnavailableError,
    StreamUnavailableError,
)
from unimeter.connectors.source import Record, RequestStats, StreamSpec, Window

from . import mapping
from .client import ToyClient
from .errors import ToyAuthError, ToyError, ToyForbiddenError, ToyNotFoundError

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("members", windowed=False, required=True, provides="members"),
    StreamSpec("usage", windowed=True, max_window_days=31, lookback_days=2, provides="usage_facts"),
    StreamSpec("audit_log", windowed=True, lookback_days=1, provides="audit_log"),
)

T = TypeVar("T")


class ToySource:
    streams = STREAMS

    def __init__(self, client: ToyClient, *, page_size: int = 100) -> None:
        self._client = client
        self._page_size = page_size
        self._counters = {spec.name: RequestStats() for spec in STREAMS}
        self._counters["probe"] = RequestStats()

    def counters(self, stream: str) -> RequestStats:
        return self._counters[stream]

    async def probe_floor(self, now_ms: int, max_days: int) -> int | None:
        """Toy AI says where its history starts: no probing window by window."""
        org = await _call(self._client.get("/v1/organization", stats=self._counters["probe"]))
        first = org.get("usage_available_from")
        if not first:
            return None
        start = dt.datetime.combine(dt.date.fromisoformat(first), dt.time(), tzinfo=dt.UTC)
        return max(int(start.timestamp() * 1000), now_ms - max_days * 86_400_000)

    def fetch(self, stream: str, window: Window | None) -> AsyncIterator[list[Record]]:
        if stream == "members":
            return self._members()
        if window is None:
            raise ValueError(f"stream {stream} needs a window")
        if stream == "usage":
            return self._usage(window)
        if stream == "audit_log":
            return self._audit(window)
        raise ValueError(f"unknown stream {stream}")

    async def _members(self) -> AsyncIterator[list[Record]]:
        # One batch: the engine marks members missing from a snapshot as removed.
        members: list[Record] = []
        async for page in self._pages("members", "/v1/members", {}):
            members.extend(mapping.member_record(m) for m in page)
        yield members

    async def _usage(self, window: Window) -> AsyncIterator[list[Record]]:
        params = {
            "starting_on": _date(window.start_ms).isoformat(),
            "ending_before": (_date(window.end_ms) + dt.timedelta(days=1)).isoformat(),
        }
        async for page in self._pages("usage", "/v1/usage_report", params):
            yield [mapping.usage_fact(row) for row in page]

    async def _audit(self, window: Window) -> AsyncIterator[list[Record]]:
        params = {"after": _iso(window.start_ms), "before": _iso(window.end_ms + 1)}
        async for page in self._pages("audit_log", "/v1/audit_log", params):
            yield [mapping.audit_record(e) for e in page]

    async def _pages(
        self, stream: str, path: str, params: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:
        pages = self._client.pages(
            path, {**params, "limit": self._page_size}, stats=self._counters[stream]
        )
        while True:
            page = await _call(anext(pages, None))
            if page is None:
                return
            yield page


async def _call(awaitable: Awaitable[T]) -> T:
    """Toy AI's errors in the engine's vocabulary (messages never hold the key)."""
    try:
        return await awaitable
    except ToyAuthError as exc:
        raise SourceAuthError(f"Toy AI rejected the API key: {exc}") from exc
    except (ToyForbiddenError, ToyNotFoundError) as exc:
        raise StreamUnavailableError(str(exc)) from exc
    except ToyError as exc:
        raise SourceUnavailableError(f"Toy AI is unavailable: {exc}") from exc


def _date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat().replace("+00:00", "Z")
