"""Cursor as a sync source: which endpoints feed which stream, and how they are paged.

Paging is by page number, so a listing that changes while it is walked shifts later pages
(a late event pushes one row onto the next page, where it would be read twice). Every walk
therefore checks the listing's total on each page and starts the window again when it moves;
rows already written are rewritten identically, so a restart costs requests, never data.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from unimeter.connectors.errors import (
    SourceAuthError,
    SourceUnavailableError,
    StreamUnavailableError,
)
from unimeter.connectors.records import GroupsRecord, MemberRecord, SpendSnapshotRecord
from unimeter.connectors.source import Record, StreamSpec, Window
from unimeter.connectors.windows import DAY_MS, plan_windows

from . import event_mapping, mapping
from .agents import AgentRunsReader
from .client import CursorClient, CursorStats
from .enterprise import EnterpriseReader
from .errors import (
    CursorAuthError,
    CursorBadRequestError,
    CursorError,
    CursorForbiddenError,
    CursorNotFoundError,
)
from .etags import EtagCache
from .gates import FamilyGates
from .models import DailyUsageResponse, GroupsResponse, UsageEventsPage

log = logging.getLogger("unimeter.cursor")

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("members", windowed=False, required=True, provides="members"),
    StreamSpec("daily_usage", windowed=True, lookback_days=2, provides="daily_activity"),
    StreamSpec(
        "usage_events",
        windowed=True,
        lookback_days=1,
        settle_days=3,
        provides="usage_events",
        email_field="userEmail",
        bulk=True,
    ),
    StreamSpec("spend", windowed=False, provides="spend"),
    # Enterprise-only at Cursor: a team on a lower plan gets 403 for these two.
    StreamSpec("billing_groups", windowed=True, lookback_days=2, provides="teams"),
    StreamSpec("audit_logs", windowed=True, lookback_days=1, provides="audit_log"),
    # Enterprise analytics (Cursor answers 403 on lower plans). Their numbers land late, so
    # each run re-reads two days; Analytics takes at most 30 days a request.
    StreamSpec(
        "ai_code_commits",
        windowed=True,
        lookback_days=2,
        provides="commits",
        email_field="userEmail",
    ),
    StreamSpec(
        "ai_code_changes",
        windowed=True,
        lookback_days=2,
        provides="ai_changes",
        email_field="userEmail",
    ),
    StreamSpec("agent_runs", windowed=True, lookback_days=2, provides="agent_runs"),
    StreamSpec("team_analytics", windowed=True, lookback_days=2, provides="activity_counts"),
    StreamSpec("user_analytics", windowed=True, lookback_days=2, provides="activity_counts"),
    StreamSpec("conversation_insights", windowed=True, lookback_days=2, provides="activity_counts"),
)

EVENTS_PAGE = 1000  # Cursor's maximum
DAILY_PAGE = 1000
AUDIT_PAGE = 500  # Cursor's maximum
SPEND_PAGE = 1000
MAX_RESTARTS = 3

T = TypeVar("T")


# The Enterprise analytics streams, each read through its own ETag cache.
ENTERPRISE_READS = {
    "ai_code_commits": EnterpriseReader.commits,
    "ai_code_changes": EnterpriseReader.changes,
    "team_analytics": EnterpriseReader.team,
    "user_analytics": EnterpriseReader.by_user,
    "conversation_insights": EnterpriseReader.insights,
}


class CursorSource:
    streams = STREAMS

    def __init__(self, client: CursorClient) -> None:
        self._counters = {spec.name: CursorStats() for spec in STREAMS}
        self._counters["probe"] = CursorStats()
        self._clients = {name: client.with_stats(stats) for name, stats in self._counters.items()}
        # Billing cycles already read in this run, as [start, end) dates.
        self._cycles_read: set[tuple[dt.date, dt.date]] = set()
        self._gates = FamilyGates()
        # The ETags of each Enterprise stream's last answers (restored by the engine).
        self._etags: dict[str, EtagCache] = {}
        self._agents = AgentRunsReader(self._gates)

    def restore(self, stream: str, memory: dict[str, Any]) -> None:
        if stream == "agent_runs":
            self._agents.restore(memory)
            return
        self._etags[stream] = EtagCache.load(memory.get("etags"))

    def memory(self, stream: str) -> dict[str, Any]:
        if stream == "agent_runs":
            return self._agents.memory()
        cache = self._etags.get(stream)
        return {"etags": cache.export()} if cache is not None and len(cache) else {}

    def _enterprise(self, stream: str) -> EnterpriseReader:
        return EnterpriseReader(self._etags.setdefault(stream, EtagCache()), self._gates)

    def counters(self, stream: str) -> CursorStats:
        return self._counters[stream]

    async def probe_floor(self, now_ms: int, max_days: int) -> int | None:
        """The start of the oldest 30-day window that still has usage events.

        Paginated daily usage returns a row for every member whether or not Cursor still
        holds data, so only events can show where the retention edge is. Windows are tried
        oldest first and the first with data ends the search: everything before it is empty,
        so no data is skipped even when a team went quiet for a month.
        """
        client = self._clients["probe"]
        for window in plan_windows(now_ms - max_days * DAY_MS, now_ms, 30):
            page = await _call(client.usage_events(window.start_ms, window.end_ms, page_size=1))
            if page.total_usage_events_count > 0:
                return window.start_ms
        return None

    def fetch(self, stream: str, window: Window | None) -> AsyncIterator[list[Record]]:
        client = self._clients[stream]
        if stream == "members":
            return self._members(client)
        if stream == "spend":
            return self._spend(client)
        if window is None:
            raise ValueError(f"stream {stream} needs a window")
        if stream in ENTERPRISE_READS:
            return ENTERPRISE_READS[stream](self._enterprise(stream), client, window)
        readers = {
            "daily_usage": self._daily_usage,
            "usage_events": self._usage_events,
            "billing_groups": self._billing_groups,
            "audit_logs": self._audit_logs,
            "agent_runs": self._agents.fetch,
        }
        return readers[stream](client, window)

    async def _members(self, client: CursorClient) -> AsyncIterator[list[Record]]:
        response = await _call(client.members())
        records: list[Record] = [mapping.member_record(m) for m in response.team_members]
        yield records

    async def _spend(self, client: CursorClient) -> AsyncIterator[list[Record]]:
        members, first = [], None
        page, page_size = 1, SPEND_PAGE
        while True:
            try:
                response = await _call(client.spend(page=page, page_size=page_size))
            except SourceUnavailableError:
                raise
            except _PageSizeRefusedError:
                page_size = 100  # the maximum is undocumented; fall back to the common one
                continue
            first = first or response
            members.extend(response.team_member_spend)
            if page >= response.total_pages:
                break
            page += 1
        meta = {"totalMembers": first.total_members, "pageSize": page_size}
        snapshot = mapping.spend_snapshot(members, first.subscription_cycle_start, meta)
        records: list[Record] = [snapshot]
        yield records

    async def _usage_events(
        self, client: CursorClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        for _ in range(MAX_RESTARTS + 1):
            identities = event_mapping.EventIdentities()

            def fetch(page: int) -> Awaitable[UsageEventsPage]:
                return client.usage_events_page(
                    window.start_ms, window.end_ms, page=page, page_size=EVENTS_PAGE
                )

            stable = True
            async for response in _pages(fetch, _events_total, _events_more):
                if response is None:
                    stable = False
                    break
                yield list(event_mapping.usage_event_records(response.usage_events, identities))
            if stable:
                return
            log.info("usage events changed while being read; reading the window again")
        raise SourceUnavailableError("usage events kept changing while being read")

    async def _daily_usage(
        self, client: CursorClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        for _ in range(MAX_RESTARTS + 1):

            def fetch(page: int) -> Awaitable[DailyUsageResponse]:
                return client.daily_usage(
                    window.start_ms, window.end_ms, page=page, page_size=DAILY_PAGE
                )

            stable = True
            async for response in _pages(fetch, _daily_total, _daily_more):
                if response is None:
                    stable = False
                    break
                rows = [mapping.daily_usage_record(row) for row in response.data]
                # The raw rows and the day totals mapped from them commit together.
                yield [*rows, *(mapping.day_total_fact(r) for r in rows)]
            if stable:
                return
        raise SourceUnavailableError("daily usage kept changing while being read")

    async def _audit_logs(
        self, client: CursorClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        page = 1
        while True:
            response = await _call(
                client.audit_logs(window.start_ms, window.end_ms, page=page, page_size=AUDIT_PAGE)
            )
            # New entries only push older ones onto later pages (read twice, stored once).
            yield [mapping.audit_event_record(e) for e in response.events]
            if response.pagination is None or not response.pagination.has_next_page:
                return
            page += 1

    async def _billing_groups(
        self, client: CursorClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        """Every billing cycle overlapping the window, each read once per run."""
        day = _date(window.start_ms)
        while day <= _date(window.end_ms):
            known = next((c for c in self._cycles_read if c[0] <= day < c[1]), None)
            if known is not None:
                day = known[1]  # read in an earlier window of this run
                continue
            response = await _call(client.groups(billing_cycle=day))
            start, end = _cycle_bounds(response, day)
            self._cycles_read.add((start, max(end, day + dt.timedelta(days=1))))
            record: GroupsRecord = mapping.groups_record(response)
            yield [record]
            day = max(end, day + dt.timedelta(days=1))


class _PageSizeRefusedError(SourceUnavailableError):
    """Cursor refused a page size; a neutral error should it ever escape the retry."""


async def _call(awaitable: Awaitable[T]) -> T:
    """Translate Cursor's errors into the engine's vocabulary (messages never hold keys)."""
    try:
        return await awaitable
    except CursorAuthError as exc:
        raise SourceAuthError(f"Cursor rejected the API key: {exc}") from exc
    except (CursorForbiddenError, CursorNotFoundError) as exc:
        # Cursor gates whole API families by plan (403 "Enterprise access required").
        raise StreamUnavailableError(str(exc)) from exc
    except CursorBadRequestError as exc:
        if "pageSize" in str(exc):
            raise _PageSizeRefusedError(str(exc)) from exc
        raise SourceUnavailableError(f"Cursor refused a request: {exc}") from exc
    except CursorError as exc:
        raise SourceUnavailableError(f"Cursor is unavailable: {exc}") from exc


async def _pages(
    fetch: Callable[[int], Awaitable[T]],
    total_of: Callable[[T], int],
    has_more: Callable[[T], bool],
) -> AsyncIterator[T | None]:
    """Pages of one listing, the next one downloading while the caller writes this one.

    Yields ``None`` (and stops) when the listing's total changed between two pages.
    """
    response = await _call(fetch(1))
    total, page = total_of(response), 1
    while True:
        following = asyncio.ensure_future(_call(fetch(page + 1))) if has_more(response) else None
        try:
            yield response
            if following is None:
                return
            response = await following
            following = None
        finally:
            if following is not None:
                following.cancel()
        page += 1
        if total_of(response) != total:
            yield None
            return


def _events_total(r: UsageEventsPage) -> int:
    return r.total_usage_events_count


def _events_more(r: UsageEventsPage) -> bool:
    return r.pagination is not None and r.pagination.has_next_page


def _daily_total(r: DailyUsageResponse) -> int:
    return r.pagination.total_users if r.pagination else len(r.data)


def _daily_more(r: DailyUsageResponse) -> bool:
    return r.pagination is not None and r.pagination.has_next_page


def _date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _cycle_bounds(response: GroupsResponse, asked: dt.date) -> tuple[dt.date, dt.date]:
    cycle = response.billing_cycle
    if cycle is None or not cycle.cycle_start or not cycle.cycle_end:
        return asked, asked + dt.timedelta(days=1)
    start = dt.datetime.fromisoformat(cycle.cycle_start.replace("Z", "+00:00")).date()
    end = dt.datetime.fromisoformat(cycle.cycle_end.replace("Z", "+00:00")).date()
    return start, end


__all__ = ["STREAMS", "CursorSource", "MemberRecord", "SpendSnapshotRecord"]
