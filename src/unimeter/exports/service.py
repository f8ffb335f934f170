"""Formatting stored records for export: raw payloads as JSON Lines, or flat CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import DailyUsage, Member, SpendSnapshot, SpendSnapshotMember, UsageEvent
from unimeter.runtime import Runtime

from . import repository

Kind = Literal["events", "daily-usage", "members", "spend"]
Format = Literal["jsonl", "csv"]
_E6 = Decimal(1_000_000)


def cents(value: int | None) -> str:
    """Exact cents from the stored millionths of a cent, without float noise."""
    if value is None:
        return ""
    return format((Decimal(value) / _E6).normalize(), "f")


def iso(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="milliseconds")


def event_payload(e: UsageEvent, email_field: str = "") -> dict[str, Any]:
    """The vendor's payload as received, with the email the sync recovered through the
    identity history where the vendor blanked it (in the vendor's own field)."""
    payload = dict(e.raw)
    if email_field and not payload.get(email_field) and e.email:
        payload[email_field] = e.email
    return payload


def email_field(runtime: Runtime, integration: str, provides: str = "usage_events") -> str:
    """The raw payload's email key of the vendor's stream that feeds ``provides``."""
    streams = runtime.connector(integration).streams
    return next((s.email_field for s in streams if s.provides == provides), "")


def event_row(e: UsageEvent) -> dict[str, Any]:
    return {
        "timestamp": iso(e.timestamp_ms), "timestamp_ms": e.timestamp_ms, "email": e.email or "",
        "attribution": e.attribution, "after_removal": e.after_removal, "model": e.model,
        "kind": e.kind, "max_mode": e.max_mode, "is_token_based": e.is_token_based,
        "is_chargeable": e.is_chargeable, "is_headless": e.is_headless,
        "input_tokens": e.input_tokens, "output_tokens": e.output_tokens,
        "cache_write_tokens": e.cache_write_tokens, "cache_read_tokens": e.cache_read_tokens,
        "token_cents": cents(e.token_cents_e6), "token_fee_cents": cents(e.token_fee_cents_e6),
        "charged_cents": cents(e.charged_cents_e6), "requests_costs": cents(e.request_units_e6),
        "conversation_id": e.conversation_id or "", "cloud_agent_id": e.cloud_agent_id or "",
        "service_account_id": e.service_account_id or "", "automation_id": e.automation_id or "",
        "fingerprint": e.fingerprint,
    }  # fmt: skip


_DAILY_SKIP = {"id", "account_id", "raw", "first_seen_at", "updated_at", "member_id", "user_key"}


def daily_row(d: DailyUsage) -> dict[str, Any]:
    return {
        c.key: getattr(d, c.key) for c in DailyUsage.__table__.columns if c.key not in _DAILY_SKIP
    }


def member_row(m: Member) -> dict[str, Any]:
    return {
        "id": m.remote_id, "email": m.email, "name": m.name or "", "role": m.role or "",
        "is_removed": m.is_removed, "removed_at": iso(m.removed_at),
        "removal_source": m.removal_source or "", "first_seen_at": iso(m.first_seen_at),
    }  # fmt: skip


def spend_row(s: SpendSnapshot, m: SpendSnapshotMember) -> dict[str, Any]:
    return {
        "taken_at": iso(s.taken_at), "cycle_start": iso(s.cycle_start_ms), "user_id": m.remote_id or "",
        "email": m.email, "name": m.name or "", "role": m.role or "",
        "on_demand_cents": cents(m.on_demand_cents_e6), "overall_cents": cents(m.overall_cents_e6),
        "premium_requests": m.premium_requests,
        "monthly_limit_dollars": "" if m.monthly_limit_dollars is None else m.monthly_limit_dollars,
        "effective_limit_dollars": "" if m.effective_limit_dollars is None else m.effective_limit_dollars,
    }  # fmt: skip


async def export_lines(
    session: AsyncSession,
    kind: Kind,
    fmt: Format,
    account_id: str,
    start: dt.date | None,
    end: dt.date | None,
    *,
    email_field: str = "",
) -> AsyncIterator[str]:
    """Export lines (each ending in a newline), streamed from the database. Raw payloads
    get a recovered email back under ``email_field`` (see :func:`email_field`)."""
    rows: AsyncIterator[tuple[dict[str, Any], dict[str, Any]]] = _rows(
        session, kind, account_id, start, end, email_field
    )
    header_written = False
    async for raw, flat in rows:
        if fmt == "jsonl":
            yield orjson.dumps(raw).decode() + "\n"
            continue
        if not header_written:
            yield _csv_line(list(flat))
            header_written = True
        yield _csv_line([_csv_value(v) for v in flat.values()])


async def _rows(
    session: AsyncSession, kind: Kind, account_id: str, start: dt.date | None,
    end: dt.date | None, email_field: str,
) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any]]]:  # fmt: skip
    if kind == "events":
        async for e in repository.events(session, account_id, start, end):
            yield event_payload(e, email_field), event_row(e)
    elif kind == "daily-usage":
        async for d in repository.daily_usage(session, account_id, start, end):
            yield d.raw, daily_row(d)
    elif kind == "members":
        async for m in repository.members(session, account_id):
            yield m.raw, member_row(m)
    else:
        async for snapshot, member in repository.spend(session, account_id, start, end):
            yield {**member.raw, "snapshotTakenAt": snapshot.taken_at}, spend_row(snapshot, member)


def _csv_value(value: object) -> object:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


Formatter = Callable[[Any], dict[str, Any]]
