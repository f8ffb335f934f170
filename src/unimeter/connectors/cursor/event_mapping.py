"""Cursor usage events → :class:`UsageEventRecord`, straight from the decoded JSON.

Events are the bulk of a backfill (millions of rows), so they skip the per-event pydantic
model: a plain dict whose fields all have their documented JSON types is mapped directly
(about ten times cheaper). Anything else (a number where a string belongs, a snake_case
key, a ``null`` where Cursor never sends one) goes through :class:`models.UsageEvent`,
which coerces exactly as before or raises the usual readable schema error. Both paths give
the same record and the same fingerprint.

The subtle part is the identity of a usage event. Cursor gives events no id, adjusts
their costs after the fact and blanks the email of removed members, so the identity is a
hash of the fields that never change for a real event, plus an ordinal among events that
are identical on those fields (parallel agents do emit exact twins). See
``docs/design-notes`` §1 in the shared references.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from typing import Any

from pydantic import ValidationError

from unimeter.connectors.records import UsageEventRecord

from .client import EVENTS_PATH as ENDPOINT
from .errors import schema_error
from .mapping import PRODUCT_ID, cents_e6
from .models import TokenUsage, UsageEvent

log = logging.getLogger("unimeter.cursor")

_STR = (str,)
_NUMBER = (int, float)
# Wire name → the JSON types the fast path accepts (absent is always fine: the default).
_EVENT_TYPES: dict[str, tuple[type, ...]] = {
    "timestamp": _STR,
    "userEmail": _STR,
    "model": _STR,
    "kind": _STR,
    "maxMode": (bool,),
    "requestsCosts": _NUMBER,
    "isTokenBasedCall": (bool,),
    "isChargeable": (bool,),
    "isHeadless": (bool,),
    "tokenUsage": (dict,),
    "chargedCents": _NUMBER,
    "cursorTokenFee": _NUMBER,
    "conversationId": _STR,
    "serviceAccountId": _STR,
    "serviceAccountName": _STR,
    "cloudAgentId": _STR,
    "automationId": _STR,
    "isFreeBugbot": (bool,),
}
_USAGE_TYPES: dict[str, tuple[type, ...]] = {
    "inputTokens": (int,),
    "outputTokens": (int,),
    "cacheWriteTokens": (int,),
    "cacheReadTokens": (int,),
    "totalCents": _NUMBER,
    "discountPercentOff": _NUMBER,
}
# May be null on the wire (the model declares them optional).
_NULLABLE = frozenset(
    {"userEmail", "model", "kind", "isChargeable", "tokenUsage", "chargedCents",
     "cursorTokenFee", "conversationId", "serviceAccountId", "serviceAccountName",
     "cloudAgentId", "automationId", "isFreeBugbot", "discountPercentOff"}
)  # fmt: skip


def _accepted(types: dict[str, tuple[type, ...]]) -> dict[str, tuple[type, ...]]:
    """The JSON types each field may have, null included where the model allows it."""
    return {n: (*t, type(None)) if n in _NULLABLE else t for n, t in types.items()}


_EVENT_ACCEPTS = _accepted(_EVENT_TYPES)
_USAGE_ACCEPTS = _accepted(_USAGE_TYPES)
# The model also accepts attribute names; a payload using one takes the model's path.
_SNAKE_NAMES = frozenset(
    name
    for model in (UsageEvent, TokenUsage)
    for name in model.model_fields
    if name not in _EVENT_TYPES and name not in _USAGE_TYPES
)
# Events of one team come in a handful of shapes (which fields, of which JSON types): a
# shape already found to hold only documented types is not checked field by field again.
_MAX_SHAPES = 1024
_documented_shapes: set[tuple[Any, ...]] = set()


class EventIdentities:
    """Assigns fingerprints to the events of one window, in the order Cursor returns them.

    Identical events share a timestamp, so ordinals are counted per timestamp. Cursor
    returns events newest first; while that holds, counts of timestamps already passed are
    dropped, keeping memory flat however large the window. If the order is ever violated,
    counting continues for the whole window (correct, just heavier).
    """

    def __init__(self) -> None:
        self._counts: dict[bytes, int] = {}
        self._last_ts: int | None = None
        self._ordered = True

    def fingerprint(self, key: bytes, timestamp_ms: int) -> str:
        if self._last_ts is not None and timestamp_ms != self._last_ts:
            if timestamp_ms > self._last_ts and self._ordered:
                self._ordered = False
                log.warning("usage events are not newest-first; counting ordinals window-wide")
            if self._ordered:
                self._counts.clear()
        self._last_ts = timestamp_ms
        ordinal = self._counts.get(key, 0)
        self._counts[key] = ordinal + 1
        return hashlib.blake2b(key + ordinal.to_bytes(4, "big"), digest_size=16).hexdigest()


def usage_event_records(events: list[Any], identities: EventIdentities) -> list[UsageEventRecord]:
    """The records of one page, in order."""
    out = []
    for event in events:
        fields = _plain_fields(event)
        if fields is None:
            fields = _model_fields(event)
        ts = int(fields[0])
        key = _identity(ts, fields)
        out.append(_record(fields, identities.fingerprint(key, ts), ts, event))
    return out


# The fields a record is built from, in this order (a tuple is the cheapest container).
_Fields = tuple[Any, ...]


def _plain_fields(e: Any) -> _Fields | None:
    """The fields of an event whose JSON types are the documented ones; else ``None``."""
    if type(e) is not dict:
        return None
    usage = e.get("tokenUsage")
    shape: tuple[Any, ...] = (tuple(e), tuple(map(type, e.values())))
    if type(usage) is dict:
        shape += (tuple(usage), tuple(map(type, usage.values())))
    if shape not in _documented_shapes:
        if not _documented(e, usage):
            return None
        if len(_documented_shapes) >= _MAX_SHAPES:
            _documented_shapes.clear()  # odd payloads of many shapes: stay bounded
        _documented_shapes.add(shape)
    get = e.get
    return (
        e["timestamp"], get("userEmail"), get("model"), get("kind"), get("maxMode", False),
        get("isTokenBasedCall", False), get("isChargeable"), get("isHeadless", False),
        usage is not None,
        usage.get("inputTokens", 0) if usage else 0,
        usage.get("outputTokens", 0) if usage else 0,
        usage.get("cacheWriteTokens", 0) if usage else 0,
        usage.get("cacheReadTokens", 0) if usage else 0,
        usage.get("totalCents", 0.0) if usage else 0.0,
        get("cursorTokenFee"), get("chargedCents"), get("requestsCosts", 0.0),
        get("conversationId"), get("cloudAgentId"), get("serviceAccountId"),
        get("automationId"),
    )  # fmt: skip


def _documented(e: dict[str, Any], usage: Any) -> bool:
    """Every known field of ``e`` (and of its token usage) has a documented JSON type."""
    if "timestamp" not in e or not _SNAKE_NAMES.isdisjoint(e):
        return False  # a missing timestamp: the model's error says so
    for name, value in e.items():
        accepted = _EVENT_ACCEPTS.get(name)
        # An unknown field is kept in raw, like the model's extra="allow".
        if accepted is not None and type(value) not in accepted:
            return False
    if usage is not None:
        for name, value in usage.items():
            accepted = _USAGE_ACCEPTS.get(name)
            if accepted is not None and type(value) not in accepted:
                return False
    return True


def _model_fields(event: Any) -> _Fields:
    try:
        e = UsageEvent.model_validate(event)
    except ValidationError as exc:
        where = f"Cursor POST {ENDPOINT} (a usage event)"
        raise schema_error(where, ENDPOINT, exc, status=200, payload=event) from exc
    u = e.token_usage
    return (
        e.timestamp, e.user_email, e.model, e.kind, e.max_mode, e.is_token_based_call,
        e.is_chargeable, e.is_headless, u is not None,
        u.input_tokens if u else 0, u.output_tokens if u else 0,
        u.cache_write_tokens if u else 0, u.cache_read_tokens if u else 0,
        u.total_cents if u else 0.0, e.cursor_token_fee, e.charged_cents, e.requests_costs,
        e.conversation_id, e.cloud_agent_id, e.service_account_id, e.automation_id,
    )  # fmt: skip


def _identity(timestamp_ms: int, f: _Fields) -> bytes:
    # Never the email (blanked after removal) nor any cost field (adjusted after the fact),
    # nor the billing label (a derived classification). The parts are str(), joined by
    # \x1f (what stored fingerprints hash: an f-string formats these types the same way).
    return (
        f"{timestamp_ms}\x1f{f[2] or ''}\x1f{bool(f[4])}\x1f{bool(f[5])}\x1f{bool(f[7])}"
        f"\x1f{f[9] or 0}\x1f{f[10] or 0}\x1f{f[11] or 0}\x1f{f[12] or 0}"
        f"\x1f{f[17] or ''}\x1f{f[18] or ''}\x1f{f[19] or ''}\x1f{f[20] or ''}"
    ).encode()


def _record(f: _Fields, fingerprint: str, timestamp_ms: int, raw: Any) -> UsageEventRecord:
    (_, email, model, kind, max_mode, token_based, chargeable, headless, has_usage,
     input_tokens, output_tokens, cache_write, cache_read, total_cents, fee, charged,
     units, conversation, agent, service_account, automation) = f  # fmt: skip
    return UsageEventRecord(
        fingerprint=fingerprint,
        timestamp_ms=timestamp_ms,
        product=PRODUCT_ID,
        email=_normal_email(email),
        model=model or "",
        kind=kind or "",
        charge_type=charge_type(kind, chargeable),
        surface=surface(agent, automation, service_account, headless),
        max_mode=bool(max_mode),
        is_token_based=bool(token_based),
        is_chargeable=bool(chargeable),
        is_headless=bool(headless),
        input_tokens=input_tokens or 0,
        output_tokens=output_tokens or 0,
        cache_write_tokens=cache_write or 0,
        cache_read_tokens=cache_read or 0,
        token_cents_e6=cents_e6(total_cents) if has_usage else None,
        token_fee_cents_e6=cents_e6(fee),
        charged_cents_e6=cents_e6(charged) or 0,
        request_units_e6=cents_e6(units) or 0,
        conversation_id=conversation,
        cloud_agent_id=agent,
        service_account_id=service_account,
        automation_id=automation,
        raw=raw,
    )


@functools.lru_cache(maxsize=4096)
def _normal_email(email: str | None) -> str:
    return (email or "").strip().lower()


# A team's events carry a few labels: each is classified once.
@functools.lru_cache(maxsize=1024)
def charge_type(kind: str | None, is_chargeable: bool | None) -> str:
    """How an event was billed. Labels are display text that Cursor changes, so only the
    well-known ones are trusted; anything else falls back to ``isChargeable``."""
    label = (kind or "").lower()
    if "not charged" in label or label.startswith(("errored", "aborted")):
        return "errored"
    if "api key" in label:
        return "api_key"
    if label.startswith(("usage-based", "on-demand")):
        return "usage_based"
    if label.startswith("included"):
        return "included"
    return "usage_based" if is_chargeable else "included"


def surface(
    cloud_agent_id: str | None,
    automation_id: str | None,
    service_account_id: str | None,
    is_headless: bool,
) -> str:
    if cloud_agent_id:
        return "cloud_agent"
    if automation_id:
        return "automation"
    if service_account_id:
        return "service_account"
    return "cli" if is_headless else "ide"


def event_day(timestamp_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=dt.UTC).date()
