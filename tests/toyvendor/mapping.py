"""Toy AI payloads -> unimeter's neutral records and canonical usage facts.

The usage report is per member (or API key), per day and per model (or none). It has no
events, so every row becomes one *detail* fact; Toy AI sends no day totals. A metric the
row leaves null stays out of ``metrics`` (unknown), never 0.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from unimeter.connectors.facts import NONE, UsageFactRecord
from unimeter.connectors.records import AuditEventRecord, MemberRecord

PRODUCT = "toy_assistant"

# Toy's field -> the canonical metric it fills.
TOKEN_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_creation_tokens": "cache_write_tokens",
}
CENTS_E6_PER_DOLLAR = Decimal(100_000_000)
# Every metric a fact of Toy AI may carry (its connector's ``FactProfile``).
METRICS = frozenset({"requests", "cost_cents_e6", *TOKEN_FIELDS.values()})


class MappingError(ValueError):
    """A payload unimeter cannot read; the message names the field, never a value."""


def member_record(payload: dict[str, Any]) -> MemberRecord:
    return MemberRecord(
        remote_id=str(payload["id"]),
        email=str(payload["email"]).lower(),
        name=payload.get("name"),
        role=payload.get("role"),
        is_removed=payload.get("status") == "removed",
        raw=payload,
    )


def usage_fact(row: dict[str, Any]) -> UsageFactRecord:
    metrics = {"requests": int(row["requests"]), "cost_cents_e6": cents_e6(row["cost_usd"])}
    for field, metric in TOKEN_FIELDS.items():
        if row.get(field) is not None:
            metrics[metric] = int(row[field])
    email = row.get("user_email")
    return UsageFactRecord(
        day=dt.date.fromisoformat(row["date"]),
        product=PRODUCT,
        user_email=str(email).lower() if email else NONE,
        # Usage of an API key belongs to no person: the key is the actor.
        actor=NONE if email else str(row.get("api_key_id") or NONE),
        surface="api" if not email else NONE,
        model=row.get("model") or NONE,
        metrics=metrics,
        is_active=True if email else None,
    )


def cents_e6(dollars: object) -> int:
    """A dollar amount as a decimal string -> exact cents x 10**6 (no float on the way)."""
    try:
        value = Decimal(str(dollars)) * CENTS_E6_PER_DOLLAR
    except InvalidOperation:
        raise MappingError("cost_usd is not a decimal number") from None
    if value != value.to_integral_value():
        raise MappingError("cost_usd has more precision than cents x 10**6")
    return int(value)


def audit_record(payload: dict[str, Any]) -> AuditEventRecord:
    at = dt.datetime.fromisoformat(str(payload["occurred_at"]).replace("Z", "+00:00"))
    actor = payload.get("actor") or {}
    return AuditEventRecord(
        remote_id=str(payload["id"]),
        timestamp_ms=int(at.timestamp() * 1000),
        event_type=str(payload["action"]),
        user_email=actor.get("email"),
        ip_address=payload.get("ip_address"),
        application_type=None,
        event_data={},
        raw=payload,
    )
