"""Reading Cursor's Enterprise analytics: AI Code Tracking (commits, changes) and the
Analytics API (team metrics, by-user metrics, conversation insights).

Every request is a conditional GET: the last ``ETag`` of the same path and query goes out
as ``If-None-Match``, and a 304 yields nothing (what the store holds from the last 200 is
still current). An ETag is remembered only once the engine took the batch read with it
(the generator resumes after the engine committed it), so a 304 never hides rows that a
failed write lost. Queries are built to repeat: Analytics takes whole days, and the AI Code
window's end is rounded up to the end of its day, so the next run's re-read of the same
days sends the same query string (Cursor's cache key).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from unimeter.connectors.errors import SourceUnavailableError
from unimeter.connectors.source import Record, Window
from unimeter.connectors.windows import DAY_MS, day_floor

from . import analytics_mapping, code_mapping
from .client import Conditional, CursorClient
from .enterprise_models import (
    AiChangesResponse,
    AiCommitsResponse,
    ByUserResponse,
    InsightsResponse,
    TeamMetricResponse,
)
from .etags import EtagCache, EtagKey, etag_key
from .gates import AI_CODE, ANALYTICS, FamilyGates
from .models import CursorModel

log = logging.getLogger("unimeter.cursor")

AI_CODE_PAGE = 1000  # Cursor's maximum
BY_USER_PAGE = 500  # Cursor's maximum
MAX_RESTARTS = 3
INSIGHTS_INCLUDE = ",".join(analytics_mapping.INSIGHT_SLICES)
INSIGHTS = "conversation insights"

M = TypeVar("M", bound=CursorModel)
Params = dict[str, str | int]


@dataclass(slots=True)
class _Page:
    """One page of a listing: its records (None after a 304) and where the listing stands."""

    records: list[Record] | None
    total: int
    more: bool
    # The ETag to remember once the engine took ``records`` (None after a 304: kept as is).
    etag: tuple[EtagKey, str | None] | None = None


class EnterpriseReader:
    """The Enterprise analytics streams of one source (one sync run of one account)."""

    def __init__(self, etags: EtagCache, gates: FamilyGates) -> None:
        self._etags = etags
        self._gates = gates

    # --- AI Code Tracking -----------------------------------------------------------------

    async def commits(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        def page(response: AiCommitsResponse, keys: code_mapping.CommitKeys) -> _Page:
            records: list[Record] = [*code_mapping.commit_records(response.items, keys)]
            return _Page(records, response.total_count, _more(response))

        async for batch in self._ai_code(
            client, "/analytics/ai-code/commits", window, AiCommitsResponse, page
        ):
            yield batch

    async def changes(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        def page(response: AiChangesResponse, _: code_mapping.CommitKeys) -> _Page:
            records: list[Record] = [*code_mapping.change_records(response.items)]
            return _Page(records, response.total_count, _more(response))

        async for batch in self._ai_code(
            client, "/analytics/ai-code/changes", window, AiChangesResponse, page
        ):
            yield batch

    async def _ai_code(
        self,
        client: CursorClient,
        path: str,
        window: Window,
        model: type[M],
        to_page: Callable[[M, code_mapping.CommitKeys], _Page],
    ) -> AsyncIterator[list[Record]]:
        """Pages of one window; the walk starts again when the listing's total moves
        between pages (a page-numbered listing then shifts rows across pages)."""
        base: Params = {"startDate": _iso(window.start_ms), "endDate": _iso(_day_end(window))}
        for _ in range(MAX_RESTARTS + 1):
            keys = code_mapping.CommitKeys()
            number, total = 1, None
            while True:
                params = {**base, "page": number, "pageSize": AI_CODE_PAGE}

                parse = partial(_with_keys, to_page, keys)
                page = await self._get(client, AI_CODE, path, params, model, parse)
                if total is not None and page.total != total:
                    break
                total = total if total is not None else page.total
                if page.records:
                    yield page.records
                self._remember(page)
                if not page.more:
                    return
                number += 1
            log.info("cursor %s changed while being read; reading the window again", path)
        raise SourceUnavailableError(f"Cursor {path} kept changing while being read")

    # --- Analytics ------------------------------------------------------------------------

    async def team(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        dates = _dates(window)
        for metric in analytics_mapping.TEAM_METRICS:

            def parse(response: TeamMetricResponse, metric: str = metric) -> _Page:
                rows = analytics_mapping.metric_records(metric, response.data)
                return _Page([*rows], 0, False)

            path = f"/analytics/team/{metric}"
            page = await self._get(client, ANALYTICS, path, dates, TeamMetricResponse, parse)
            if page.records:
                yield page.records
            self._remember(page)

    async def by_user(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        dates = _dates(window)
        for metric in analytics_mapping.BY_USER_METRICS:
            path = f"/analytics/by-user/{metric}"

            def parse(response: ByUserResponse, metric: str = metric) -> _Page:
                rows = analytics_mapping.by_user_records(metric, response.data)
                pagination = response.pagination
                more = pagination is not None and pagination.has_next_page
                return _Page([*rows], pagination.total_users if pagination else 0, more)

            number = 1
            while True:
                params: Params = {**dates, "page": number, "pageSize": BY_USER_PAGE}
                page = await self._get(client, ANALYTICS, path, params, ByUserResponse, parse)
                if page.records:
                    yield page.records
                self._remember(page)
                if not page.more:
                    break
                number += 1

    async def insights(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        def parse(response: InsightsResponse) -> _Page:
            return _Page([*analytics_mapping.insight_records(response.data)], 0, False)

        params: Params = {**_dates(window), "include": INSIGHTS_INCLUDE}
        path = "/analytics/team/conversation-insights"
        page = await self._get(
            client, ANALYTICS, path, params, InsightsResponse, parse, disabled_on_401=INSIGHTS
        )
        if page.records:
            yield page.records
        self._remember(page)

    # --- conditional GETs -----------------------------------------------------------------

    async def _get(
        self,
        client: CursorClient,
        family: str,
        path: str,
        params: Params,
        model: type[M],
        parse: Callable[[M], _Page],
        *,
        disabled_on_401: str | None = None,
    ) -> _Page:
        """One conditional GET. The page carries its ETag: the caller hands the page to
        ``_remember`` after the engine took its records."""
        key_id, base_url = client.cache_scope
        key = etag_key(key_id, base_url, path, params)
        known = self._etags.get(key)
        answer: Conditional[M] = await self._gates.call(
            family,
            lambda: client.conditional_get(model, path, params, known.etag if known else None),
            disabled_on_401=disabled_on_401,
        )
        if answer.model is None:
            meta = known.meta if known else {}
            return _Page(None, int(meta.get("total", 0)), bool(meta.get("more", False)))
        page = parse(answer.model)
        page.etag = (key, answer.etag)
        return page

    def _remember(self, page: _Page) -> None:
        if page.etag is not None:
            key, etag = page.etag
            self._etags.remember(key, etag, {"total": page.total, "more": page.more})


def _with_keys(
    to_page: Callable[[M, code_mapping.CommitKeys], _Page], keys: code_mapping.CommitKeys, r: M
) -> _Page:
    return to_page(r, keys)


def _more(response: AiCommitsResponse | AiChangesResponse) -> bool:
    return response.page * response.page_size < response.total_count and bool(response.items)


def _day_end(window: Window) -> int:
    """The window's end moved to the last millisecond of its day: a run later the same day
    asks the same query (no rows exist after now, so nothing else changes)."""
    return day_floor(window.end_ms) + DAY_MS - 1


def _iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dates(window: Window) -> Params:
    """Analytics takes whole UTC days, both ends inclusive (cursor-api.md §1.5)."""
    start = dt.datetime.fromtimestamp(window.start_ms / 1000, tz=dt.UTC).date()
    end = dt.datetime.fromtimestamp(window.end_ms / 1000, tz=dt.UTC).date()
    return {"startDate": start.isoformat(), "endDate": end.isoformat()}
