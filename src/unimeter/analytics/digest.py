"""The weekly digest's figures: spend by tool and by team against the week before,
reclaimable seats, open anomalies.

Every figure comes from the functions behind the API (chargeback, seats, anomalies), over
all the environment's accounts, so the digest says what ``/analytics/...`` says for the
same days. Notifications render and send it; this module only reads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from unimeter.kit.money import dollars
from unimeter.runtime import Runtime

from . import anomalies, chargeback, repository, vendors
from . import service as analytics
from .anomaly_details import stored

IDLE_DAYS = 30
TOP_ANOMALIES = 5
# Enough to count what a digest lists; an environment with more says "at least".
MAX_OPEN_ANOMALIES = 500


async def build(
    runtime: Runtime, environment_id: str, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """The digest of the days ``[start, end)`` (a week) beside the same span just before."""
    async with runtime.db.scanner() as session:
        accounts = await repository.accounts_of(session, environment_id)
    body: dict[str, Any] = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "accounts": len(accounts),
    }
    if not accounts:
        return {**body, **_empty()}
    scope = analytics.Scope(tuple(accounts))
    span = end - start
    now = await _spend(runtime, scope, start, end)
    before = await _spend(runtime, scope, start - span, start)
    names = vendors.product_names(runtime)
    return {
        **body,
        "spend": _compare(now["total"], before["total"]),
        "by_tool": _rows(now["tools"], before["tools"], "product", names),
        "by_team": _rows(now["teams"], before["teams"], "team", {}),
        "seats": await _seats(runtime, scope, end - dt.timedelta(days=1)),
        "anomalies": await _anomalies(runtime, scope),
    }


def _empty() -> dict[str, Any]:
    return {
        "spend": _compare(0, 0),
        "by_tool": [],
        "by_team": [],
        "seats": {"provisioned": 0, "reclaimable": 0, "reclaimable_monthly": None},
        "anomalies": {"open": 0, "more": False, "top": []},
    }


async def _spend(
    runtime: Runtime, scope: analytics.Scope, start: dt.date, end: dt.date
) -> dict[str, Any]:
    """Charged cents_e6 in total, per tool and per team (None: people without a team)."""
    report = await chargeback.chargeback(
        runtime, scope, start=start, end=end, by="team", granularity="total", source="auto"
    )
    tools: dict[str, int] = defaultdict(int)
    teams: dict[str | None, int] = defaultdict(int)
    for (_period, team), charge in report.charges.items():
        teams[team] += charge.metrics["charged_cents_e6"]
    for split in report.products.values():
        for product, charge in split.items():
            tools[product] += charge.metrics["charged_cents_e6"]
    total = report.total.metrics["charged_cents_e6"]
    return {"total": total, "tools": dict(tools), "teams": dict(teams)}


def _compare(now: int, before: int) -> dict[str, Any]:
    change = None if not before else round(float(Decimal(now - before) / before) * 100, 1)
    return {
        "charged": dollars(now),
        "previous": dollars(before),
        "change": dollars(now - before) if now >= before else "-" + dollars(before - now),
        "change_percent": change,
        "currency": "USD",
    }


def _rows(
    now: dict[Any, int], before: dict[Any, int], field: str, names: dict[str, str]
) -> list[dict[str, Any]]:
    """Costliest first; a tool or team with spend only in the week before shows at 0."""
    keys = sorted({*now, *before}, key=lambda k: (-now.get(k, 0), str(k)))
    return [
        {
            field: key,
            **({"name": names.get(key, key)} if names else {"unallocated": key is None}),
            **_compare(now.get(key, 0), before.get(key, 0)),
        }
        for key in keys
    ]


async def _seats(runtime: Runtime, scope: analytics.Scope, as_of: dt.date) -> dict[str, Any]:
    report = await analytics.seats(runtime, scope, as_of, idle_days=IDLE_DAYS)
    amount, priced, unpriced = report.reclaimable()
    return {
        "provisioned": len(report.seats),
        "reclaimable": priced + unpriced,
        "reclaimable_monthly": dollars(amount) if priced else None,
    }


async def _anomalies(runtime: Runtime, scope: analytics.Scope) -> dict[str, Any]:
    """Open anomalies (acknowledged and resolved ones are left out: that is how an
    acknowledgement stops the weekly reminder), costliest excess first."""
    found = await anomalies.page(
        runtime, scope.account_ids, status="open", kind=None, position=None,
        limit=MAX_OPEN_ANOMALIES,
    )  # fmt: skip
    items = [(a, stored(a.kind, a.details).excess_cost) for a in found.items]
    items.sort(key=lambda pair: (-Decimal(pair[1] or 0), pair[0].id))
    return {
        "open": len(items),
        "more": found.next_key is not None,
        "top": [
            {
                "id": a.id,
                "kind": a.kind,
                "user_email": a.user_email,
                "day": a.day.isoformat(),
                "excess_cost": excess,
            }
            for a, excess in items[:TOP_ANOMALIES]
        ],
    }
