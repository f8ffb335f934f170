"""Analyses as JSON-ready dicts, shared by the HTTP API and ``unimeter report``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from unimeter.kit.money import dollars
from unimeter.kit.times import iso

from .audit import KINDS, AuditReport
from .chargeback import ChargebackReport, CycleReconciliation, MemberDrift
from .consumption_repository import CONSUMPTION_METRICS
from .coverage import Note, as_dicts
from .service import ConsumptionPage, Seat, SeatsReport
from .teams import TeamMap


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def seat(s: Seat, as_of: dt.date) -> dict[str, Any]:
    h = s.holder
    return {
        "integrated_account_id": h.account_id,
        "user_id": h.user_id,
        "email": h.email,
        "name": h.name,
        "role": h.role,
        "last_active": s.last_active.isoformat() if s.last_active else None,
        "days_idle": (as_of - s.last_active).days if s.last_active else None,
    }


def seats(report: SeatsReport) -> dict[str, Any]:
    body = _seats(report)
    split = report.per_product()
    if split:
        # Several tools in scope: each one's seats beside the whole.
        body["by_product"] = [
            {"product": product, **{k: v for k, v in _seats(part).items() if k in SEAT_COUNTS}}
            for product, part in split.items()
        ]
    return body


SEAT_COUNTS = ("provisioned", "active_7d", "active_30d", "utilization_7d", "utilization_30d")


def _seats(report: SeatsReport) -> dict[str, Any]:
    provisioned = len(report.seats)
    active_7d, active_30d = report.active_within(7), report.active_within(30)
    amount, priced, unpriced = report.reclaimable()
    return {
        "scope": report.scope.describe(),
        "as_of": report.as_of.isoformat(),
        "provisioned": provisioned,
        "active_7d": active_7d,
        "active_30d": active_30d,
        "utilization_7d": percent(active_7d, provisioned),
        "utilization_30d": percent(active_30d, provisioned),
        "idle_days": report.idle_days,
        "idle": [seat(s, report.as_of) for s in report.idle],
        "never_used": [seat(s, report.as_of) for s in report.never_used],
        "reclaimable": {
            "seats": priced + unpriced,
            "priced_seats": priced,
            "monthly": {"amount": dollars(amount), "currency": "USD"} if priced else None,
        },
    }


def period_end(start: dt.date, granularity: str, range_end: dt.date) -> dt.date:
    """The exclusive end of the period starting at ``start``, clipped to the range."""
    if granularity == "day":
        end = start + dt.timedelta(days=1)
    elif granularity == "week":
        end = start + dt.timedelta(days=7)
    elif granularity == "month":
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    else:
        end = range_end
    return min(end, range_end)


def known_events(metrics: Mapping[str, int]) -> int | None:
    """The requests of some usage, or None (unknown) where it has tokens or charges and no
    request at all: a vendor that counts requests counts one for any usage, so usage without
    any comes from a vendor that does not count them (the rollups keep its unknown as 0)."""
    events = metrics["events"]
    usage = any(metrics[name] for name in CONSUMPTION_METRICS if name != "events")
    return None if events == 0 and usage else events


def _amount(metrics: Mapping[str, int], name: str, unknown: frozenset[str]) -> str | None:
    return None if name in unknown else dollars(metrics[name])


def totals(metrics: dict[str, int], unknown: frozenset[str] = frozenset()) -> dict[str, Any]:
    tokens = {
        "input": metrics["input_tokens"],
        "output": metrics["output_tokens"],
        "cache_read": metrics["cache_read_tokens"],
        "cache_write": metrics["cache_write_tokens"],
    }
    return {
        "events": known_events(metrics),
        "tokens": {**tokens, "total": sum(tokens.values())},
        "cost": {
            "charged": dollars(metrics["charged_cents_e6"]),
            "included": _amount(metrics, "included_cents_e6", unknown),
            "usage_based": _amount(metrics, "usage_based_cents_e6", unknown),
            "currency": "USD",
        },
    }


def consumption_row(
    row: dict[str, Any],
    granularity: str,
    range_end: dt.date,
    dims: tuple[str, ...],
    unknown: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    start: dt.date = row["period"]
    out: dict[str, Any] = {
        "period_start": start.isoformat(),
        "period_end": period_end(start, granularity, range_end).isoformat(),
    }
    if "user" in dims:
        out["integrated_account_id"] = row["account_id"]
        out["user_email"] = row["user_email"]
    if "model" in dims:
        out["model"] = row["model"]
    if "product" in dims:
        out["product"] = row["product"]
    if "rank" in row:
        out["rank"] = row["rank"]
    return {**out, **totals(row, unknown)}


def consumption(
    page: ConsumptionPage,
    *,
    granularity: str,
    start: dt.date,
    end: dt.date,
    dims: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "granularity": granularity,
        "group_by": list(dims),
        "result": [
            consumption_row(r, granularity, end, dims, page.unknown(r.get("account_id")))
            for r in page.rows
        ],
        "totals": totals(page.totals, page.unknown()),
        "others": totals(page.others, page.unknown()) if page.others is not None else None,
    }


def chargeback(
    report: ChargebackReport, *, granularity: str, start: dt.date, end: dt.date
) -> dict[str, Any]:
    # Named buckets by period then name; the unallocated bucket last in each period.
    keys = sorted(report.charges, key=lambda k: (k[0], k[1] is None, k[1] or ""))
    rows = []
    for period, name in keys:
        charge = report.charges[(period, name)]
        rows.append({
            "period_start": period.isoformat(),
            "period_end": period_end(period, granularity, end).isoformat(),
            report.by: name,
            "unallocated": name is None,
            "users": len(charge.users),
            **totals(charge.metrics),
            # The tool as a breakdown: each product's part of the bucket.
            "products": [
                {"product": product, "users": len(part.users), **totals(part.metrics)}
                for product, part in sorted(report.products.get((period, name), {}).items())
            ],
        })  # fmt: skip
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "by": report.by,
        "granularity": granularity,
        "sources": report.sources,
        "notes": as_dicts(report.notes),
        "result": rows,
        "totals": {"users": len(report.total.users), **totals(report.total.metrics)},
    }


def _drift(m: MemberDrift) -> dict[str, Any]:
    return {
        "email": m.email,
        "billed": dollars(m.billed),
        "events": dollars(m.events),
        "drift": dollars(m.drift),
    }


def reconciliation(cycles: list[CycleReconciliation]) -> dict[str, Any]:
    return {
        "cycles": [
            {
                "integrated_account_id": c.account_id,
                "cycle_start": iso(c.cycle_start_ms),
                "snapshot_taken_at": iso(c.snapshot_taken_at),
                "members": len(c.members),
                "billed": dollars(c.billed),
                "events": dollars(c.events),
                "drift": dollars(c.events - c.billed),
                "drifts": [_drift(m) for m in c.members if m.drift],
            }
            for c in cycles
        ]
    }


def team_mapping(maps: dict[str, TeamMap], email: str | None, notes: list[Note]) -> dict[str, Any]:
    rows = []
    for account_id, team_map in maps.items():
        for a in team_map.assignments():
            if email is not None and a.email.lower() != email.lower():
                continue
            rows.append({
                "integrated_account_id": account_id,
                "source": team_map.source,
                "email": a.email,
                "team": a.team,
                "cost_center": a.cost_center,
                "status": a.status,
                "valid_from": None if a.first_day == dt.date.min else a.first_day.isoformat(),
                "valid_to": a.last_day.isoformat() if a.last_day else None,
            })  # fmt: skip
    rows.sort(key=lambda r: (r["email"], r["valid_from"] or "", r["integrated_account_id"]))
    return {"notes": as_dicts(notes), "result": rows}


def audit(report: AuditReport, as_of: dt.date) -> dict[str, Any]:
    counts: dict[str, int | None] = dict.fromkeys(KINDS, 0)
    for f in report.findings:
        counts[f.type] = (counts[f.type] or 0) + 1
    for kind in report.unchecked:
        counts[kind] = None  # not checked: unknown, not zero
    return {
        "as_of": as_of.isoformat(),
        "counts": counts,
        "notes": as_dicts(report.notes),
        "result": [
            {
                "type": f.type,
                "integrated_account_id": f.integrated_account_id,
                "email": f.email,
                "user_id": f.user_id,
                "evidence": f.evidence,
            }
            for f in report.findings
        ],
    }
