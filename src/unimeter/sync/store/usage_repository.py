"""SQL for daily usage and usage events: compare, then insert new rows and update changed ones.

Comparing first (rather than blind upserts) gives exact inserted/updated/unchanged counts, so
"a second run changes nothing" is testable, and keeps every replaced cost as a revision.
Bulk inserts use ``render_nulls``: otherwise the ORM splits a batch by which columns are
NULL and sends rows one by one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import (
    DailyUsageRecord,
    UsageEventRecord,
)
from unimeter.connectors.windows import DAY_MS
from unimeter.db.base import now_ms
from unimeter.db.models import (
    DailyUsage,
    UsageEvent,
    UsageEventRevision,
)
from unimeter.sync.store import bulk, rollups_repository
from unimeter.sync.store.counts import Counts, chunks

# -- daily usage ----------------------------------------------------------------------------

_DAILY_FIELDS = (
    "email", "numeric_user_id", "is_active", "lines_added", "lines_deleted",
    "accepted_lines_added", "accepted_lines_deleted", "applies", "accepts", "rejects",
    "tabs_shown", "tabs_accepted", "composer_requests", "chat_requests", "agent_requests",
    "cmdk_requests", "included_requests", "usage_based_requests", "api_key_requests",
    "bugbot_requests", "most_used_model", "apply_extension", "tab_extension", "client_version",
)  # fmt: skip


async def upsert_daily_usage(
    session: AsyncSession,
    account_id: str,
    records: Sequence[DailyUsageRecord],
    members: dict[str, int],
) -> Counts:
    counts = Counts()
    now = now_ms()
    for chunk in chunks(records):
        days = {r.day for r in chunk}
        keys = {r.user_key for r in chunk}
        stored = {
            (row.day, row.user_key): row
            for row in (
                await session.execute(
                    select(DailyUsage.id, DailyUsage.day, DailyUsage.user_key, *_daily_columns())
                    .where(DailyUsage.account_id == account_id)
                    .where(DailyUsage.day.in_(days), DailyUsage.user_key.in_(keys))
                )
            ).all()
        }
        new_rows, changed = [], []
        for r in chunk:
            row = stored.get((r.day, r.user_key))
            if row is None:
                new_rows.append(_daily_row(account_id, r, members, now))
            elif tuple(row[3:]) != r.values():
                values = _daily_row(account_id, r, members, now)
                values.pop("first_seen_at")
                changed.append({"id": row.id, **values})
            else:
                counts.unchanged += 1
        if new_rows:
            await session.execute(insert(DailyUsage).execution_options(render_nulls=True), new_rows)
        if changed:
            await session.execute(update(DailyUsage), changed)
        counts.inserted += len(new_rows)
        counts.updated += len(changed)
        # A usage record passes its day's row through as ``remote_data``: the days of rows
        # written are rebuilt, and their stored records rendered again, at the end of the run.
        written_days = {row["day"] for row in new_rows} | {row["day"] for row in changed}
        await rollups_repository.mark_dirty(session, account_id, written_days)
    return counts


def _daily_columns() -> list[Any]:
    return [getattr(DailyUsage, name) for name in _DAILY_FIELDS]


def _daily_row(
    account_id: str, r: DailyUsageRecord, members: dict[str, int], now: int
) -> dict[str, Any]:
    row = {name: getattr(r, name) for name in _DAILY_FIELDS}
    row.update(
        account_id=account_id,
        day=r.day,
        user_key=r.user_key,
        member_id=members.get(r.email),
        raw=r.raw,
        first_seen_at=now,
        updated_at=now,
    )
    return row


# -- usage events ---------------------------------------------------------------------------


_EVENTS = cast(Table, UsageEvent.__table__)
# Events are written in chunks of this many: each chunk costs a probe of the time index, a
# lookup of unknown conversations and one insert call, so a backfill's 100,000 events took
# some 370 statements at 500 a chunk. 2,000 fingerprints in one IN (...) stay far below
# SQLite's limit of 32,766 parameters (and PostgreSQL's 65,535).
EVENT_CHUNK = 2_000


@dataclass(slots=True)
class _Stored:
    id: int
    costs: tuple[int | None, int | None, int, int]
    kind: str
    is_chargeable: bool
    email_received: str
    email: str | None
    revisions: int


async def upsert_usage_events(
    session: AsyncSession,
    account_id: str,
    records: Sequence[UsageEventRecord],
    members: dict[str, int],
) -> Counts:
    counts = Counts()
    await bulk.plan_each_statement(session)
    for chunk in _distinct_chunks(records):
        stored = await _stored_events(session, account_id, chunk)
        conversations = await _conversation_owners(session, account_id, chunk, stored)
        await _write_events(session, account_id, chunk, stored, conversations, members, counts)
    return counts


def _distinct_chunks(records: Sequence[UsageEventRecord]) -> Iterator[list[UsageEventRecord]]:
    """Chunks in which no fingerprint repeats. A write may hold the same event twice (a
    listing read again after it shifted, in the same unit as the first read): the second
    must compare with the first as stored, as if they had been written apart."""
    chunk: list[UsageEventRecord] = []
    seen: set[str] = set()
    for r in records:
        if len(chunk) >= EVENT_CHUNK or r.fingerprint in seen:
            yield chunk
            chunk, seen = [], set()
        chunk.append(r)
        seen.add(r.fingerprint)
    if chunk:
        yield chunk


async def _stored_events(
    session: AsyncSession, account_id: str, chunk: Sequence[UsageEventRecord]
) -> dict[str, _Stored]:
    """The stored versions of the chunk's events.

    An event's fingerprint hashes its timestamp, so a stored copy has the same timestamp.
    When nothing is stored in the chunk's time span (every chunk of a first backfill), one
    probe of the (account, timestamp) index answers for the whole chunk, instead of a
    lookup per fingerprint.
    """
    first = min(r.timestamp_ms for r in chunk)
    last = max(r.timestamp_ms for r in chunk)
    anything = await session.scalar(
        select(UsageEvent.id)
        .where(UsageEvent.account_id == account_id)
        .where(UsageEvent.timestamp_ms >= first, UsageEvent.timestamp_ms <= last)
        .limit(1)
    )
    if anything is None:
        return {}
    fingerprints = [r.fingerprint for r in chunk]
    rows = await session.execute(
        select(
            UsageEvent.fingerprint,
            UsageEvent.id,
            UsageEvent.token_cents_e6,
            UsageEvent.token_fee_cents_e6,
            UsageEvent.charged_cents_e6,
            UsageEvent.request_units_e6,
            UsageEvent.kind,
            UsageEvent.is_chargeable,
            UsageEvent.email_received,
            UsageEvent.email,
            UsageEvent.revisions,
        )
        .where(UsageEvent.account_id == account_id)
        .where(UsageEvent.fingerprint.in_(fingerprints))
    )
    return {
        fp: _Stored(id_, (tc, fee, ch, units), kind, charge, received, email, revisions)
        for fp, id_, tc, fee, ch, units, kind, charge, received, email, revisions in rows
    }


async def _conversation_owners(
    session: AsyncSession,
    account_id: str,
    chunk: Sequence[UsageEventRecord],
    stored: dict[str, _Stored],
) -> dict[str, str]:
    """Emails of conversations, for new events whose email Cursor no longer sends."""
    wanted = {
        r.conversation_id
        for r in chunk
        if not r.email and r.conversation_id and r.fingerprint not in stored
    }
    known = {r.conversation_id: r.email for r in chunk if r.email and r.conversation_id}
    missing = wanted - known.keys()
    if missing:
        rows = await session.execute(
            select(UsageEvent.conversation_id, UsageEvent.email)
            .where(UsageEvent.account_id == account_id)
            .where(UsageEvent.conversation_id.in_(missing), UsageEvent.email.is_not(None))
            .distinct()
        )
        for conversation, email in rows:
            if conversation is not None and email:
                known.setdefault(conversation, email)
    return {c: e for c, e in known.items() if c in wanted}


async def _write_events(
    session: AsyncSession,
    account_id: str,
    chunk: Sequence[UsageEventRecord],
    stored: dict[str, _Stored],
    conversations: dict[str, str],
    members: dict[str, int],
    counts: Counts,
) -> None:
    now = now_ms()
    new: list[UsageEventRecord] = []
    changed: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    for r in chunk:
        old = stored.get(r.fingerprint)
        if old is None:
            new.append(r)
            continue
        cost_changed = old.costs != r.costs()
        if not cost_changed and (old.kind, old.is_chargeable, old.email_received) == (
            r.kind,
            r.is_chargeable,
            r.email,
        ):
            counts.unchanged += 1
            continue
        changed.append(_changed_event(old, r, members, now))
        if cost_changed:
            revisions.append(_revision(account_id, old, now))
    if new:
        # Core (or COPY), not the ORM: no per-row bookkeeping for the bulk of a backfill. A
        # generator: PostgreSQL stores the first rows while the last are made.
        rows = (_new_event(account_id, r, conversations, members, now) for r in new)
        await bulk.insert_rows(session, _EVENTS, _NEW_EVENT_COLUMNS, rows)
    if changed:
        await session.execute(update(UsageEvent), changed)
    if revisions:
        await session.execute(
            insert(UsageEventRevision).execution_options(render_nulls=True), revisions
        )
    counts.inserted += len(new)
    counts.updated += len(changed)


def _event_values(r: UsageEventRecord) -> dict[str, Any]:
    return {
        "product": r.product,
        "model": r.model,
        "kind": r.kind,
        "charge_type": r.charge_type,
        "surface": r.surface,
        "max_mode": r.max_mode,
        "is_token_based": r.is_token_based,
        "is_chargeable": r.is_chargeable,
        "is_headless": r.is_headless,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cache_write_tokens": r.cache_write_tokens,
        "cache_read_tokens": r.cache_read_tokens,
        "token_cents_e6": r.token_cents_e6,
        "token_fee_cents_e6": r.token_fee_cents_e6,
        "charged_cents_e6": r.charged_cents_e6,
        "request_units_e6": r.request_units_e6,
        "email_received": r.email,
        "raw": r.raw,
    }


# A new event's columns, in the order of _new_event's values.
_NEW_EVENT_COLUMNS = (
    "account_id", "fingerprint", "timestamp_ms", "day", "email", "member_id", "attribution",
    "conversation_id", "cloud_agent_id", "service_account_id", "automation_id",
    "first_seen_at", "updated_at", "product", "model", "kind", "charge_type", "surface",
    "max_mode", "is_token_based", "is_chargeable", "is_headless", "input_tokens",
    "output_tokens", "cache_write_tokens", "cache_read_tokens", "token_cents_e6",
    "token_fee_cents_e6", "charged_cents_e6", "request_units_e6", "email_received", "raw",
)  # fmt: skip


def _new_event(
    account_id: str,
    r: UsageEventRecord,
    conversations: dict[str, str],
    members: dict[str, int],
    now: int,
) -> tuple[Any, ...]:
    """The values of a new event's row (``_NEW_EVENT_COLUMNS``); the same values as
    ``_event_values`` gives an update."""
    email: str | None = r.email or None
    attribution = "direct"
    if email is None:
        email = conversations.get(r.conversation_id or "")
        attribution = "conversation" if email else "unattributed"
    return (
        account_id, r.fingerprint, r.timestamp_ms, _day(r.timestamp_ms // DAY_MS), email,
        members.get(email) if email else None, attribution, r.conversation_id,
        r.cloud_agent_id, r.service_account_id, r.automation_id, now, now, r.product,
        r.model, r.kind, r.charge_type, r.surface, r.max_mode, r.is_token_based,
        r.is_chargeable, r.is_headless, r.input_tokens, r.output_tokens,
        r.cache_write_tokens, r.cache_read_tokens, r.token_cents_e6, r.token_fee_cents_e6,
        r.charged_cents_e6, r.request_units_e6, r.email, r.raw,
    )  # fmt: skip


@functools.lru_cache(maxsize=4096)
def _day(epoch_day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=epoch_day)


def _changed_event(
    old: _Stored, r: UsageEventRecord, members: dict[str, int], now: int
) -> dict[str, Any]:
    values = {"id": old.id, **_event_values(r), "updated_at": now}
    if r.email:
        values.update(email=r.email, member_id=members.get(r.email), attribution="direct")
    if old.costs != r.costs():
        values["revisions"] = old.revisions + 1
    return values


def _revision(account_id: str, old: _Stored, now: int) -> dict[str, Any]:
    token, fee, charged, units = old.costs
    return {
        "account_id": account_id,
        "event_id": old.id,
        "replaced_at": now,
        "token_cents_e6": token,
        "token_fee_cents_e6": fee,
        "charged_cents_e6": charged,
        "request_units_e6": units,
    }
