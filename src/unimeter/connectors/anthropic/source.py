"""Anthropic as a sync source: which Admin API endpoints feed which stream.

- ``users`` (required), ``workspaces`` and ``api_keys``: snapshots over id-cursor lists.
- ``claude_code``: the Claude Code analytics report, one UTC day per request series. A day
  is asked for only once it ended more than an hour ago (the report holds back the last
  hour), and all of its rows go out in one batch: an actor has several rows a day, and a
  later batch would replace the facts an earlier one wrote.
- ``messages_usage`` and ``cost_report``: the Usage & Cost reports in daily buckets over
  complete days (the current one is still growing), one batch per window.

Every vendor error leaves this module as one of :mod:`unimeter.connectors.errors`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from unimeter.connectors.errors import (
    SourceAuthError,
    SourceUnavailableError,
    StreamUnavailableError,
)
from unimeter.connectors.source import Record, RequestStats, StreamSpec, Window
from unimeter.connectors.windows import DAY_MS

from . import mapping
from .client import AnthropicClient, Params
from .errors import (
    AnthropicAuthError,
    AnthropicError,
    AnthropicNotFoundError,
    AnthropicPermissionError,
)
from .models import ApiKey, Bucket, ClaudeCodeRow, User, Workspace, WorkspaceMember

ORG = "/v1/organizations"
HOUR_MS = 3_600_000
REPORT_BUCKETS = 31  # the cost report's maximum page of daily buckets (messages allow 31 too)
MESSAGES_GROUPS = ("model", "api_key_id", "account_id", "workspace_id", "service_account_id")
COST_GROUPS = ("workspace_id", "description")

STREAMS: tuple[StreamSpec, ...] = (
    # No removal flag: a removed user just vanishes from /users, so the engine marks
    # members missing from this (complete) snapshot as removed.
    StreamSpec(
        "users", windowed=False, required=True, provides="members", absent_means_removed=True
    ),
    StreamSpec("workspaces", windowed=False, provides="teams"),
    StreamSpec("api_keys", windowed=False, provides="actors"),
    # Claude Code's estimated costs are revised too: the same deeper daily re-read.
    StreamSpec(
        "claude_code",
        windowed=True,
        max_window_days=31,
        lookback_days=2,
        settle_days=7,
        provides="usage_facts",
    ),
    StreamSpec(
        "messages_usage",
        windowed=True,
        max_window_days=31,
        lookback_days=2,
        provides="usage_facts",
    ),
    # Anthropic revises the costs of recent days: a deeper re-read once a day.
    StreamSpec(
        "cost_report",
        windowed=True,
        max_window_days=31,
        lookback_days=2,
        settle_days=7,
        provides="usage_facts",
    ),
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class AnthropicSource:
    streams = STREAMS

    def __init__(
        self,
        client: AnthropicClient,
        *,
        clock: Callable[[], int] = wall_clock_ms,
        page_size: int = 1000,
    ) -> None:
        self._clock = clock
        self._page_size = page_size
        self._counters = {spec.name: RequestStats() for spec in STREAMS}
        self._counters["probe"] = RequestStats()
        self._clients = {name: client.with_stats(stats) for name, stats in self._counters.items()}
        # Read once per source, lazily, by whichever stream needs them first.
        self._lock = asyncio.Lock()
        self._users: list[User] | None = None
        self._keys: list[ApiKey] | None = None

    def counters(self, stream: str) -> RequestStats:
        return self._counters[stream]

    def fetch(self, stream: str, window: Window | None) -> AsyncIterator[list[Record]]:
        client = self._clients[stream]
        snapshots = {"users": self._members, "workspaces": self._groups, "api_keys": self._actors}
        if stream in snapshots:
            return snapshots[stream](client)
        if window is None:
            raise ValueError(f"stream {stream} needs a window")
        readers = {
            "claude_code": self._claude_code,
            "messages_usage": self._messages,
            "cost_report": self._costs,
        }
        if stream not in readers:
            raise ValueError(f"unknown stream {stream}")
        return readers[stream](client, window)

    async def probe_floor(self, now_ms: int, max_days: int) -> int | None:
        """The oldest day with any cost, stepping back 31 days a request (one page of the
        cost report) until a whole range is empty or ``max_days`` are covered.

        An organization that pays for Claude Code by seat may have no API cost at all: then
        its history starts no earlier than its earliest member joined (one more request)."""
        oldest = await self._oldest_cost_day(now_ms, max_days)
        if oldest is None:
            oldest = await self._earliest_join(now_ms, max_days)
        return None if oldest is None else _day_ms(oldest)

    async def _oldest_cost_day(self, now_ms: int, max_days: int) -> dt.date | None:
        client = self._clients["probe"]
        floor = _day(now_ms) - dt.timedelta(days=max_days)
        end, oldest = _day(now_ms), None
        while end > floor:
            start = max(end - dt.timedelta(days=REPORT_BUCKETS), floor)
            params = {"starting_at": _iso(start), "ending_at": _iso(end), "limit": REPORT_BUCKETS}
            buckets = await self._buckets(client, f"{ORG}/cost_report", params)
            used = [mapping.parse_day(b.starting_at) for b in buckets if b.results]
            if not used:
                break
            oldest, end = min(used), start
        return oldest

    async def _earliest_join(self, now_ms: int, max_days: int) -> dt.date | None:
        users = await self._list(self._clients["probe"], f"{ORG}/users", User)
        joined = []
        for user in users:
            try:
                joined.append(mapping.parse_day(user.added_at or ""))
            except ValueError:  # no or unreadable join time: it bounds nothing
                continue
        if not joined:
            return None
        return max(min(joined), _day(now_ms) - dt.timedelta(days=max_days))

    # --- snapshots -----------------------------------------------------------------------

    async def _members(self, client: AnthropicClient) -> AsyncIterator[list[Record]]:
        users = await self._list(client, f"{ORG}/users", User)
        self._users = users
        # One batch: the engine marks members missing from the snapshot as removed.
        records: list[Record] = [mapping.member_record(user) for user in users]
        yield records

    async def _groups(self, client: AnthropicClient) -> AsyncIterator[list[Record]]:
        workspaces = await self._list(
            client, f"{ORG}/workspaces", Workspace, {"include_archived": True}
        )
        members = {
            w.id: await self._list(client, f"{ORG}/workspaces/{w.id}/members", WorkspaceMember)
            for w in workspaces
        }
        yield [mapping.groups_record(workspaces, members)]

    async def _actors(self, client: AnthropicClient) -> AsyncIterator[list[Record]]:
        keys = await self._list(client, f"{ORG}/api_keys", ApiKey)
        self._keys = keys
        records: list[Record] = [mapping.actor_record(key) for key in keys]
        yield records

    # --- reports -------------------------------------------------------------------------

    async def _claude_code(
        self, client: AnthropicClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        now = self._clock()
        for day in _days(window):
            if _day_ms(day) + DAY_MS + HOUR_MS > now:
                return  # not complete yet (today included): the report would hold it back
            params: Params = {"starting_at": day.isoformat(), "limit": self._page_size}
            rows: list[ClaudeCodeRow] = []
            async for page in _translated(
                client.token_pages(f"{ORG}/usage_report/claude_code", params)
            ):
                rows.extend(_parse(ClaudeCodeRow, row, "claude_code row") for row in page)
            if not rows:
                continue
            names: dict[str, list[str]] = {}
            if any(row.actor.api_key_name is not None for row in rows):
                names = mapping.key_ids_by_name(await self._api_keys(client))
            records: list[Record] = list(_mapped(mapping.claude_code_facts, rows, names))
            yield records

    async def _messages(
        self, client: AnthropicClient, window: Window
    ) -> AsyncIterator[list[Record]]:
        params = self._report_range(window)
        if params is None:
            return
        params = {**params, "bucket_width": "1d", "group_by": MESSAGES_GROUPS}
        buckets = await self._buckets(client, f"{ORG}/usage_report/messages", params)
        emails: dict[str, str] = {}
        if any(r.get("account_id") for b in buckets for r in b.results):
            emails = {u.id: u.email.strip().lower() for u in await self._all_users(client)}
        records: list[Record] = list(_mapped(mapping.messages_facts, buckets, emails))
        if records:
            yield records

    async def _costs(self, client: AnthropicClient, window: Window) -> AsyncIterator[list[Record]]:
        params = self._report_range(window)
        if params is None:
            return
        params = {**params, "bucket_width": "1d", "group_by": COST_GROUPS}
        buckets = await self._buckets(client, f"{ORG}/cost_report", params)
        records: list[Record] = list(_mapped(mapping.cost_facts, buckets))
        if records:
            yield records

    def _report_range(self, window: Window) -> dict[str, Any] | None:
        """The window's complete days as a report range (the current day still grows)."""
        start = _day(window.start_ms)
        end = min(_day(window.end_ms) + dt.timedelta(days=1), _day(self._clock()))
        if start >= end:
            return None
        return {"starting_at": _iso(start), "ending_at": _iso(end), "limit": REPORT_BUCKETS}

    # --- shared reads --------------------------------------------------------------------

    async def _all_users(self, client: AnthropicClient) -> list[User]:
        async with self._lock:
            if self._users is None:
                self._users = await self._list(client, f"{ORG}/users", User)
            return self._users

    async def _api_keys(self, client: AnthropicClient) -> list[ApiKey]:
        """The key list, to resolve Claude Code's key names; none when the org refuses it."""
        async with self._lock:
            if self._keys is None:
                try:
                    self._keys = await self._list(client, f"{ORG}/api_keys", ApiKey)
                except StreamUnavailableError:
                    self._keys = []  # names stay names: "api_key_name:…"
            return self._keys

    async def _list(
        self, client: AnthropicClient, path: str, model: type[M], params: Params | None = None
    ) -> list[M]:
        items: list[M] = []
        async for page in _translated(client.id_pages(path, params, limit=self._page_size)):
            items.extend(_parse(model, item, path.rsplit("/", 1)[-1]) for item in page)
        return items

    async def _buckets(
        self, client: AnthropicClient, path: str, params: dict[str, Any]
    ) -> list[Bucket]:
        buckets: list[Bucket] = []
        async for page in _translated(client.token_pages(path, params)):
            buckets.extend(_parse(Bucket, item, "bucket") for item in page)
        return buckets


async def _translated(pages: AsyncIterator[T]) -> AsyncIterator[T]:
    """The pages of a listing, the client's errors translated on every step."""
    while True:
        page = await _call(anext(pages, None))
        if page is None:
            return
        yield page


async def _call(awaitable: Awaitable[T]) -> T:
    """Anthropic's errors in the engine's vocabulary (messages never hold the key)."""
    try:
        return await awaitable
    except AnthropicAuthError as exc:
        raise SourceAuthError(f"Anthropic rejected the Admin API key: {exc}") from exc
    except (AnthropicPermissionError, AnthropicNotFoundError) as exc:
        raise StreamUnavailableError(str(exc)) from exc
    except AnthropicError as exc:
        raise SourceUnavailableError(f"Anthropic is unavailable: {exc}") from exc


def _mapped(function: Callable[..., T], *args: Any) -> T:
    """A mapping's result; a value it refuses fails the stream like a bad body."""
    try:
        return function(*args)
    except (AnthropicError, ValidationError, ValueError) as exc:
        raise SourceUnavailableError(f"Anthropic sent a value unimeter cannot map: {exc}") from exc


def _parse(model: type[M], payload: object, what: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise SourceUnavailableError(
            f"Anthropic sent an unexpected {what} ({where}: {first['msg']})"
        ) from exc


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _day_ms(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)


def _days(window: Window) -> list[dt.date]:
    first, last = _day(window.start_ms), _day(window.end_ms)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
