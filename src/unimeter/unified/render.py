"""Turning grouped rows and members into unified records (plain dicts, ready for JSON)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

from unimeter.db.models import IntegratedAccount, Member
from unimeter.kit.money import dollars
from unimeter.kit.times import iso

from .repository import UsageQuery

PRODUCT = {"id": "cursor", "name": "Cursor"}
ModelDescriber = Callable[[str], tuple[str, str]]


def day_iso(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def organization(account: IntegratedAccount) -> dict[str, Any]:
    return {"id": account.id, "name": account.name or account.tenant_id}


def period_end(start: dt.date, q: UsageQuery) -> dt.date:
    if q.granularity == "day":
        return start + dt.timedelta(days=1)
    if q.granularity == "week":
        return start + dt.timedelta(days=7)
    if q.granularity == "month":
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return dt.date(year, month, 1)
    return q.end


# -- ids --------------------------------------------------------------------------------------


def usage_id(
    q: UsageQuery, start: dt.date, end: dt.date, user: str, model: str, surface: str
) -> str:
    key = [
        q.granularity,
        ",".join(q.dims),
        start.isoformat(),
        end.isoformat(),
        user,
        model,
        surface,
    ]
    return "usg_" + base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


def parse_usage_id(text: str) -> tuple[str, tuple[str, ...], dt.date, dt.date, str, str, str]:
    """The grain key inside a usage id; ``ValueError`` when it is not one of ours."""
    if not text.startswith("usg_"):
        raise ValueError("not a usage id")
    body = text[4:]
    try:
        granularity, dims, start, end, user, model, surface = orjson.loads(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        )
        dimensions = tuple(d for d in str(dims).split(",") if d)
        parsed = (
            str(granularity), dimensions, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
            str(user), str(model), str(surface),
        )  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise ValueError("not a usage id") from exc
    if parsed[0] not in ("day", "week", "month", "total") or not set(dimensions) <= {
        "user",
        "model",
        "surface",
    }:
        raise ValueError("not a usage id")
    return parsed


# -- usage rows -------------------------------------------------------------------------------


def usage_row(
    row: Any,
    q: UsageQuery,
    account: IntegratedAccount,
    members: dict[str, Member],
    describe: ModelDescriber,
) -> dict[str, Any]:
    start = _as_date(row.period)
    end = period_end(start, q)
    record: dict[str, Any] = {
        "id": usage_id(q, start, end, row.user_key, row.model_key, row.surface_key),
        "product": PRODUCT,
        "organization": organization(account),
        "user": _user(row.user_key, members) if "user" in q.dims else None,
        "model": _model(row.model_key, describe) if "model" in q.dims else None,
        "surface": row.surface_key if "surface" in q.dims else None,
        "start_date": day_iso(start),
        "end_date": day_iso(end),
        "usage": _metrics(row, q),
        "charges": _charges(row),
        "created_at": iso(account.last_synced_at),
        "updated_at": iso(account.last_synced_at),
    }
    return record


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _user(email: str, members: dict[str, Member]) -> dict[str, Any] | None:
    if not email:
        return None  # events Cursor no longer attributes and we could not recover
    member = members.get(email)
    return {
        "id": member.remote_id if member else None,
        "email": email,
        "name": member.name if member else None,
    }


def _model(model: str, describe: ModelDescriber) -> dict[str, Any]:
    model_id, provider = describe(model)
    return {"id": model_id, "provider": provider}


def _int(row: Any, name: str) -> int:
    return int(getattr(row, name) or 0)


def _metrics(row: Any, q: UsageQuery) -> dict[str, Any]:
    tokens = {
        "input": _int(row, "input_tokens"),
        "output": _int(row, "output_tokens"),
        "cache_read": _int(row, "cache_read_tokens"),
        "cache_write": _int(row, "cache_write_tokens"),
    }
    tokens["total"] = sum(tokens.values())
    metrics: dict[str, Any] = {"tokens": tokens}
    if not q.with_daily:
        metrics["requests"] = {
            "total": _int(row, "events"),
            "included": _int(row, "included_events"),
            "usage_based": _int(row, "usage_based_events"),
            "api_key": _int(row, "api_key_events"),
        }
        return metrics
    included, usage_based, api_key = (
        _int(row, "included_requests"), _int(row, "usage_based_requests"), _int(row, "api_key_requests"),
    )  # fmt: skip
    metrics["requests"] = {
        "total": included + usage_based + api_key,
        "chat": _int(row, "chat_requests"),
        "agent": _int(row, "agent_requests"),
        "composer": _int(row, "composer_requests"),
        "cmdk": _int(row, "cmdk_requests"),
        "tab_shown": _int(row, "tabs_shown"),
        "tab_accepted": _int(row, "tabs_accepted"),
        "api_key": api_key,
        "included": included,
        "usage_based": usage_based,
        "bugbot": _int(row, "bugbot_requests"),
    }
    metrics["code"] = {
        name: _int(row, name)
        for name in (
            "lines_added", "lines_deleted", "accepted_lines_added", "accepted_lines_deleted",
            "applies", "accepts", "rejects",
        )
    }  # fmt: skip
    if q.granularity == "day" and "user" in q.dims:
        metrics["activity"] = {
            "is_active": _int(row, "active_days") > 0 or _int(row, "events") > 0,
            "client_version": row.client_version,
            "max_mode": _int(row, "max_mode_events") > 0,
        }
    return metrics


def _charges(row: Any) -> list[dict[str, Any]]:
    return [
        {"type": kind, "amount": dollars(_int(row, column)), "currency": "USD"}
        for kind, column in (
            ("total", "charged_cents_e6"),
            ("included", "included_cents_e6"),
            ("usage_based", "usage_based_cents_e6"),
        )
    ]


# -- users ------------------------------------------------------------------------------------


def user_record(
    m: Member,
    account: IntegratedAccount,
    last_active_ms: int | None,
    limit_dollars: int | None,
) -> dict[str, Any]:
    first, _, last = (m.name or "").partition(" ")
    return {
        "id": m.remote_id,
        "name": m.name or m.email,
        "first_name": first or None,
        "last_name": last or None,
        "emails": [{"email": m.email, "is_primary": True}],
        "roles": [{"id": m.role, "name": m.role.replace("-", " ").title()}] if m.role else [],
        "status": "deleted" if m.is_removed else "active",
        "organization": organization(account),
        "spend_limit": (
            {"amount": limit_dollars * 100, "currency": "USD"}
            if limit_dollars is not None
            else None
        ),
        "last_active_at": iso(last_active_ms),
        "created_at": iso(m.first_seen_at),
        "updated_at": iso(m.updated_at),
        "remote_data": m.raw,
    }


# -- response options -------------------------------------------------------------------------


def drop_fields(record: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Remove ``exclude_fields[]`` paths (dotted for nested fields) from a record."""
    for path in paths:
        parts = path.split(".")
        target: Any = record
        for part in parts[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(parts[-1], None)
    return record
