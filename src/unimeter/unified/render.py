"""Turning grouped rows and members into unified records (plain dicts, ready for JSON)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from unimeter.connectors.contract import ModelInfo, Product
from unimeter.connectors.facts import FactProfile
from unimeter.db import user_records as user_records_db
from unimeter.db.models import IntegratedAccount
from unimeter.kit.money import dollars
from unimeter.kit.times import iso

from .query import UsageQuery


@dataclass(frozen=True, slots=True)
class Vendor:
    """What the unified API needs of an account's connector."""

    products: tuple[Product, ...]
    facts: FactProfile
    describe_model: Callable[[str], ModelInfo]
    # Whether it keeps raw daily rows / raw events to pass through as ``remote_data``.
    raw_daily: bool = False
    raw_events: bool = False
    # Whether it has streams providing commits / agent runs (the committed, agents groups).
    commits: bool = False
    agent_runs: bool = False

    def product(self, product_id: str) -> dict[str, Any]:
        """The record's product: the row's, else the vendor's one product."""
        if not product_id and self.products:
            product_id = self.products[0].id
        name = next((p.name for p in self.products if p.id == product_id), product_id)
        return {"id": product_id, "name": name}


# The fields of each usage group: (neutral name, canonical metric).
REQUEST_FIELDS = (
    ("total", "requests"), ("included", "requests_included"),
    ("usage_based", "requests_usage_based"), ("api_key", "requests_api_key"),
    ("errored", "requests_errored"), ("premium", "requests_premium"),
    ("chat", "chat_requests"), ("agent", "agent_requests"), ("edit", "edit_requests"),
    ("inline_edit", "inline_edit_requests"), ("review", "review_requests"),
    ("completions_shown", "completions_shown"), ("completions_accepted", "completions_accepted"),
)  # fmt: skip
TOKEN_FIELDS = (
    ("input", "input_tokens"), ("output", "output_tokens"),
    ("cache_read", "cache_read_tokens"), ("cache_write", "cache_write_tokens"),
)  # fmt: skip
CODE_FIELDS = tuple(
    (name, name)
    for name in (
        "lines_added", "lines_removed", "accepted_lines_added", "accepted_lines_removed",
        "applies", "accepts", "rejects", "tool_actions_accepted", "tool_actions_rejected",
    )
)  # fmt: skip
WORK_FIELDS = (("sessions", "sessions"), ("commits", "commits"), ("pull_requests", "pull_requests"))
CHARGE_FIELDS = (
    ("total", "cost_cents_e6"), ("included", "included_cents_e6"),
    ("usage_based", "usage_based_cents_e6"),
)  # fmt: skip


def query_profile(vendor: Vendor) -> dict[str, Any]:
    """What a :class:`UsageQuery` of the vendor's records takes from its connector."""
    return {
        "detail_metrics": vendor.facts.detail_metrics,
        "day_total_metrics": vendor.facts.day_total_metrics,
        "by_product": len(vendor.products) > 1,
    }


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
    q: UsageQuery,
    start: dt.date,
    end: dt.date,
    user: str,
    model: str,
    surface: str,
    product: str = "",
) -> str:
    """Stable over syncs: the grain key itself. The product is part of it only for a
    vendor with several products, so ids of single-product vendors never changed."""
    key = [
        q.granularity, ",".join(q.dims), start.isoformat(), end.isoformat(), user, model, surface,
    ]  # fmt: skip
    if q.by_product:
        key.append(product)
    return "usg_" + base64.urlsafe_b64encode(orjson.dumps(key)).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class UsageKey:
    granularity: str
    dims: tuple[str, ...]
    start: dt.date
    end: dt.date
    user: str
    model: str
    surface: str
    product: str | None  # None: the id has no product (a single-product vendor's)


def parse_usage_id(text: str) -> UsageKey:
    """The grain key inside a usage id; ``ValueError`` when it is not one of ours."""
    if not text.startswith("usg_"):
        raise ValueError("not a usage id")
    body = text[4:]
    try:
        key = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if not isinstance(key, list) or len(key) not in (7, 8):
            raise ValueError("not a usage id")
        granularity, dims, start, end, user, model, surface, *product = key
        dimensions = tuple(d for d in str(dims).split(",") if d)
        parsed = UsageKey(
            str(granularity), dimensions, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
            str(user), str(model), str(surface), str(product[0]) if product else None,
        )  # fmt: skip
    except (ValueError, TypeError) as exc:
        raise ValueError("not a usage id") from exc
    if parsed.granularity not in ("day", "week", "month", "total") or not set(dimensions) <= {
        "user",
        "model",
        "surface",
    }:
        raise ValueError("not a usage id")
    return parsed


# -- usage rows -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """The fields records of one product show at one query's grain, with where each value
    sits in a row. Worked out once per page and product rather than for every row: asking
    the profile about every metric of every group of every row was most of the time a page
    took to render."""

    product: dict[str, Any]
    groups: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]  # (group, ((label, column)))
    tokens_total: str
    activity: tuple[int, int, int] | None  # the active_days, detail_used, client_version columns
    premium: tuple[str, int] | None  # (label, column)
    charges: tuple[tuple[str, int], ...]  # (label, column)
    estimate: bool


def layout(q: UsageQuery, vendor: Vendor, product_key: str, fields: tuple[str, ...]) -> Layout:
    """``fields``: the names of the page's columns."""
    product = vendor.product(product_key)
    facts = vendor.facts
    metrics = q.metrics
    known = {m for m in metrics if facts.reports(product["id"], m)}
    column = {name: i for i, name in enumerate(fields)}.__getitem__

    def labelled(group: str, pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, int], ...]:
        named = ((facts.label(f"{group}.{name}"), metric) for name, metric in pairs)
        return tuple((label, column(m)) for label, m in named if m in known and label is not None)

    groups = (("tokens", TOKEN_FIELDS), ("requests", REQUEST_FIELDS), ("code", CODE_FIELDS),
              ("work", WORK_FIELDS))  # fmt: skip
    premium = facts.label("activity.premium") if "requests_premium" in metrics else None
    shows_activity = q.with_day_totals and q.granularity == "day" and "user" in q.dims
    return Layout(
        product=product,
        groups=tuple((name, shown) for name, pairs in groups if (shown := labelled(name, pairs))),
        tokens_total=facts.label("tokens.total") or "total",
        activity=(column("active_days"), column("detail_used"), column("client_version"))
        if shows_activity
        else None,
        premium=(premium, column("requests_premium")) if premium is not None else None,
        charges=labelled("charges", CHARGE_FIELDS),
        estimate=product["id"] in facts.estimated_charges,
    )


@dataclass(frozen=True, slots=True)
class _Page:
    """What every record of a page shares."""

    q: UsageQuery
    members: dict[str, Any]
    organization: dict[str, Any]
    synced: str | None


def usage_records(
    rows: Sequence[Any],
    q: UsageQuery,
    account: IntegratedAccount,
    members: dict[str, Any],
    vendor: Vendor,
) -> list[dict[str, Any]]:
    """Grouped rows (``repository.usage_page``) as records. What records of the page share
    (the organization, the sync time, each product's layout, each period's dates, each
    model's description) is worked out once."""
    if not rows:
        return []
    fields: tuple[str, ...] = rows[0]._fields
    page = _Page(q, members, organization(account), iso(account.last_synced_at))
    layouts: dict[str, Layout] = {}
    periods: dict[Any, _Period] = {}
    models: dict[str, dict[str, Any]] = {}
    records = []
    for row in rows:
        product = row.product_key if q.by_product else ""
        shape = layouts.get(product)
        if shape is None:
            shape = layouts[product] = layout(q, vendor, product, fields)
        period = periods.get(row.period)
        if period is None:
            period = periods[row.period] = _Period.of(row.period, q)
        model = None
        if "model" in q.dims:
            model = models.get(row.model_key)
            if model is None:
                model = models[row.model_key] = _model(row.model_key, vendor)
        records.append(_usage_record(page, row, product, shape, period, model))
    return records


@dataclass(frozen=True, slots=True)
class _Period:
    start: dt.date
    end: dt.date
    start_iso: str
    end_iso: str

    @classmethod
    def of(cls, value: Any, q: UsageQuery) -> _Period:
        start = _as_date(value)
        end = period_end(start, q)
        return cls(start, end, day_iso(start), day_iso(end))


def _usage_record(
    page: _Page, row: Any, product: str, shape: Layout, period: _Period,
    model: dict[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    q, user = page.q, row.user_key
    return {
        "id": usage_id(q, period.start, period.end, user, row.model_key, row.surface_key, product),
        "product": dict(shape.product),
        "organization": dict(page.organization),
        "user": user_of(user, page.members) if "user" in q.dims else None,
        "model": dict(model) if model is not None else None,
        "surface": row.surface_key if "surface" in q.dims else None,
        "start_date": period.start_iso,
        "end_date": period.end_iso,
        "usage": _metrics(row, shape),
        "charges": [
            {
                "type": label,
                "amount": dollars(int(row[i] or 0)),
                "currency": "USD",
                "is_estimate": shape.estimate,
            }
            for label, i in shape.charges
        ],
        "created_at": page.synced,
        "updated_at": page.synced,
    }


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def user_of(email: str, members: dict[str, Any]) -> dict[str, Any] | None:
    if not email:
        return None  # usage of an API key, or that the vendor no longer attributes
    member = members.get(email)
    return {
        "id": member.remote_id if member else None,
        "email": email,
        "name": member.name if member else None,
    }


def daily_one_to_one(q: UsageQuery, vendor: Vendor) -> bool:
    """Whether each record of ``q`` is one of the vendor's raw daily rows (passed through as
    ``remote_data.daily_usage``)."""
    return vendor.raw_daily and q.with_day_totals and q.granularity == "day" and "user" in q.dims


def _model(model: str, vendor: Vendor) -> dict[str, Any]:
    info = vendor.describe_model(model)
    return {"id": info.id, "provider": info.provider}


def _metrics(row: Any, shape: Layout) -> dict[str, Any]:
    """The usage groups with the fields this vendor reports at this grain (a reported metric
    with no usage is 0); a group it reports none of is left out."""
    metrics: dict[str, Any] = {}
    for group, fields in shape.groups:
        shown = {label: int(row[i] or 0) for label, i in fields}
        if group == "tokens":
            shown[shape.tokens_total] = sum(shown.values())
        metrics[group] = shown
    if shape.activity is not None:
        active_days, detail_used, client_version = shape.activity
        activity: dict[str, Any] = {
            # Active by the vendor's word, or because its detail facts show usage that day.
            "is_active": int(row[active_days] or 0) > 0 or int(row[detail_used] or 0) > 0,
            "client_version": row[client_version],
        }
        if shape.premium is not None:
            label, premium = shape.premium
            activity[label] = int(row[premium] or 0) > 0
        metrics["activity"] = activity
    return metrics


# -- users ------------------------------------------------------------------------------------


def user_records(
    members: Sequence[Any], account: IntegratedAccount, fresh: dict[int, Any]
) -> list[Any]:
    """Members' rows (``repository.members_page``) as unified users: each stored record
    (``unimeter.db.user_records``) with the account's organization put in, written into
    the response as it is; a member without one is rendered from its row in ``fresh``."""
    org = organization(account)
    org_json = orjson.dumps(org).decode()
    return [
        orjson.Fragment(user_records_db.with_organization(m.record, org_json))
        if m.record is not None
        else user_records_db.as_dict(fresh[m.id], org)
        for m in members
    ]


def user_dicts(members: Sequence[Any], account: IntegratedAccount) -> list[dict[str, Any]]:
    """Members' full rows as unified users to reshape (``exclude_fields``)."""
    org = organization(account)
    return [user_records_db.as_dict(m, org) for m in members]


def passthrough(raw: str | bytes) -> Any:
    """Stored JSON text, written into a response as it is."""
    return orjson.Fragment(raw)


# -- response options -------------------------------------------------------------------------


def drop_fields(record: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Remove ``exclude_fields[]`` paths (dotted for nested fields) from a record. Stored
    JSON passed through (:func:`passthrough`) is parsed where a path goes inside it."""
    for path in paths:
        parts = path.split(".")
        target: Any = record
        for part in parts[:-1]:
            child = target.get(part) if isinstance(target, dict) else None
            if isinstance(child, orjson.Fragment):
                child = target[part] = orjson.loads(orjson.dumps(child))
            target = child
        if isinstance(target, dict):
            target.pop(parts[-1], None)
    return record
