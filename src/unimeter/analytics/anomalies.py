"""Usage anomalies: per-user daily cost, tokens and headless spend against a robust
baseline (median and MAD of the trailing days), and first use of a far costlier model.

Every signal needs a minimum amount *and* a minimum multiple of the baseline, so a user
whose spend goes from 2 cents to 10 pages no one. Detection runs after every sync over the
last few days; an anomaly is stored once per (kind, user, day, subject) and announced once,
by a ``usage:anomaly_detected`` webhook written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.keyset import PageSlice, slice_page
from unimeter.db.models import Anomaly, IntegratedAccount
from unimeter.kit.cursors import Position
from unimeter.kit.money import parse_dollars
from unimeter.kit.times import iso
from unimeter.notifications import service as notifications
from unimeter.runtime import Runtime
from unimeter.webhooks import service as webhooks

from . import agent_anomalies, records_repository
from . import anomalies_repository as repo
from . import anomaly_details as evidence
from . import repository as analytics_repo
from . import settings as account_settings
from .schemas import AnomalyThresholds

USAGE_KINDS = ("cost_spike", "token_spike", "headless_spike", "expensive_model")
KINDS = (*USAGE_KINDS, *agent_anomalies.KINDS)
STATUSES = ("open", "acknowledged", "resolved")
SCAN_DAYS = 3  # days re-examined after each sync: late events and cost changes land there
MAD_SCALE = 1.4826  # makes the MAD estimate a standard deviation for normal data


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    email: str
    day: dt.date
    subject: str
    details: dict[str, Any]
    # The evidence when it is not usage events (agent runs); None: the costliest events.
    evidence: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """One user's daily values of one metric, zero on days without usage."""

    values: dict[dt.date, int]

    def baseline(self, day: dt.date, days: int) -> list[int]:
        return [self.values.get(day - dt.timedelta(days=n), 0) for n in range(1, days + 1)]


def spike(
    value: int, baseline: list[int], t: AnomalyThresholds, min_amount: int
) -> dict[str, Any] | None:
    """The robust test: far above the median in MAD units, by at least ``min_amount`` and
    ``min_multiple`` times the median."""
    median = statistics.median(baseline)
    mad = statistics.median(abs(x - median) for x in baseline)
    sigma = MAD_SCALE * mad
    excess = value - median
    if excess < min_amount or value < t.min_multiple * median:
        return None
    z = excess / sigma if sigma else None
    if z is not None and z < t.robust_z:
        return None
    return {"value": value, "median": median, "mad": mad, "robust_z": z}


def find(
    t: AnomalyThresholds,
    days: list[dt.date],
    user_days: list[tuple[str, dt.date, int, int, int]],
    model_days: list[tuple[str, dt.date, str, int, int]],
    first_seen: dict[str, dt.date],
) -> list[Finding]:
    """Every anomaly on ``days``, from daily series that reach back a baseline before them."""
    cost: dict[str, dict[dt.date, int]] = defaultdict(dict)
    tokens: dict[str, dict[dt.date, int]] = defaultdict(dict)
    headless: dict[str, dict[dt.date, int]] = defaultdict(dict)
    for user, day, charged, used, agent in user_days:
        cost[user][day], tokens[user][day], headless[user][day] = charged, used, agent
    money = {name: parse_dollars(getattr(t, name)) for name in
             ("min_cost", "model_min_cost", "headless_min_cost")}  # fmt: skip
    signals: list[tuple[str, dict[str, dict[dt.date, int]], int]] = [
        ("cost_spike", cost, money["min_cost"]),
        ("token_spike", tokens, t.min_tokens),
        ("headless_spike", headless, money["headless_min_cost"]),
    ]
    floors = {kind: {user: _floor(v) for user, v in series.items()} for kind, series, *_ in signals}
    out: list[Finding] = []
    for day in days:
        for user, first in first_seen.items():
            if (day - first).days < t.min_baseline_days:
                continue  # too new to have a baseline
            for kind, series, minimum in signals:
                # No baseline median is below the series' floor, so a value under the minimum
                # above that floor cannot be a spike: most users are skipped here.
                if series.get(user, {}).get(day, 0) < minimum + floors[kind].get(user, 0):
                    continue
                values = Series(series.get(user, {}))
                # The baseline never reaches before the user's first day of usage.
                window = min(t.baseline_days, (day - first).days)
                found = spike(values.values.get(day, 0), values.baseline(day, window), t, minimum)
                if found:
                    # The money at stake: the signal's own for money, the day's cost for tokens.
                    money_series = values if kind != "token_spike" else Series(cost.get(user, {}))
                    usual = statistics.median(money_series.baseline(day, window))
                    details = evidence.spike(
                        kind, found, cost=money_series.values.get(day, 0), usual_cost=usual
                    )
                    out.append(Finding(kind, user, day, "", details.model_dump()))
    out += _new_models(t, days, model_days, first_seen, money["model_min_cost"])
    return out


def _floor(values: dict[dt.date, int]) -> int:
    """The least of the values, or zero (the value of a day without usage) if lower."""
    return min(0, *values.values()) if values else 0


def _new_models(
    t: AnomalyThresholds, days: list[dt.date], model_days: list[tuple[str, dt.date, str, int, int]],
    first_seen: dict[str, dt.date], min_cost: int,
) -> list[Finding]:  # fmt: skip
    usage: dict[str, dict[dt.date, dict[str, tuple[int, int]]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for user, day, model, charged, events in model_days:
        usage[user][day][model] = (charged, events)
    out = []
    for day in days:
        for user, by_day in usage.items():
            if not _costly(by_day.get(day, {}), min_cost):
                continue  # no model costly enough that day: skip building the baseline
            first = first_seen.get(user)
            if first is None or (day - first).days < t.min_baseline_days:
                continue
            span = min(t.baseline_days, (day - first).days)
            window = [day - dt.timedelta(days=n) for n in range(1, span + 1)]
            usual = [by_day[d][m] for d in window if d in by_day for m in by_day[d]]
            known = {m for d in window if d in by_day for m in by_day[d]}
            usual_cost, usual_events = sum(c for c, _ in usual), sum(n for _, n in usual)
            if not usual_events:
                continue
            per_event = usual_cost / usual_events
            for model, (charged, events) in by_day.get(day, {}).items():
                if model in known or charged < min_cost or not events:
                    continue
                if charged / events >= t.model_cost_multiple * max(per_event, 1):
                    details = evidence.new_model(charged, events, per_event)
                    out.append(Finding("expensive_model", user, day, model, details.model_dump()))
    return out


def _costly(models: dict[str, tuple[int, int]], min_cost: int) -> bool:
    return any(charged >= min_cost and events for charged, events in models.values())


async def detect(runtime: Runtime, account: IntegratedAccount) -> list[Anomaly]:
    """Find, store and announce new anomalies on the account's last ``SCAN_DAYS`` days of
    usage, and of agent runs (``agent_anomalies``)."""
    t = (await account_settings.get(runtime, account.id)).anomaly
    findings: list[Finding] = []
    days: list[dt.date] = []
    async with runtime.db.scanner() as session:
        last = await repo.latest_day(session, account.id)
        if last is not None:
            days = [last - dt.timedelta(days=n) for n in range(SCAN_DAYS)]
            start = days[-1] - dt.timedelta(days=t.baseline_days)
            findings = find(
                t, days, await repo.user_days(session, account.id, start, last),
                await _model_days(session, account.id, t, start, days),
                await repo.first_days(session, account.id),
            )  # fmt: skip
        agents, agent_days = await agent_anomalies.detect(session, account.id, t, SCAN_DAYS)
    findings += [Finding(f.kind, f.email, f.day, f.subject, f.details, f.run_ids) for f in agents]
    if not findings:
        return []
    return await _store(runtime, account, findings, sorted({*days, *agent_days}))


async def _model_days(
    session: AsyncSession, account_id: str, t: AnomalyThresholds, start: dt.date,
    days: list[dt.date],
) -> list[tuple[str, dt.date, str, int, int]]:  # fmt: skip
    """The per-model days ``_new_models`` needs: the scanned days, and the baseline days
    only of users with a model costly enough on a scanned day (no one else can have a
    finding), instead of every user's month of models."""
    scanned = await repo.user_model_days(session, account_id, days[-1], days[0])
    min_cost = parse_dollars(t.model_min_cost)
    users = sorted({u for u, _, _, charged, events in scanned if charged >= min_cost and events})
    if not users:
        return scanned
    before = days[-1] - dt.timedelta(days=1)
    return scanned + await repo.user_model_days(session, account_id, start, before, users=users)


async def _store(
    runtime: Runtime, account: IntegratedAccount, findings: list[Finding], days: list[dt.date]
) -> list[Anomaly]:
    async with runtime.db.session() as session:
        known = await repo.existing_keys(session, account.id, days)
        fresh = []
        for f in findings:
            if (f.kind, f.email, f.day, f.subject) in known:
                continue
            events = f.evidence
            if events is None:
                events = await records_repository.costliest_records(
                    session, account.id, f.email, f.day, model=f.subject or None,
                    headless=f.kind == "headless_spike",
                )  # fmt: skip
            at = now_ms()
            fresh.append(Anomaly(
                id=new_id("anm"), account_id=account.id, kind=f.kind, user_email=f.email,
                day=f.day, subject=f.subject, status="open", details=f.details, event_ids=events,
                detected_at=at, updated_at=at,
            ))  # fmt: skip
        await repo.add(session, fresh)
        for anomaly in fresh:
            await webhooks.publish(
                session, account.environment_id, "usage:anomaly_detected", render(anomaly)
            )
    return fresh


def render(a: Anomaly) -> dict[str, Any]:
    end = a.day + dt.timedelta(days=1)
    return {
        "id": a.id,
        "integrated_account_id": a.account_id,
        "kind": a.kind,
        "status": a.status,
        "user_email": a.user_email,
        "day": a.day.isoformat(),
        "model": (a.subject or None) if a.kind not in agent_anomalies.KINDS else None,
        "run_id": (a.subject or None) if a.kind == "agent_runaway" else None,
        "details": evidence.stored(a.kind, a.details).model_dump(),
        "event_ids": a.event_ids,
        "links": {
            "usage": "/unified/usage-metering/usage?"
            + urlencode(
                [
                    ("integrated_account_id", a.account_id),
                    ("emails[]", a.user_email),
                    ("start_date", a.day.isoformat()),
                    ("end_date", end.isoformat()),
                    ("group_by[]", "user"),
                    ("group_by[]", "model"),
                ]
            ),
        },
        "detected_at": iso(a.detected_at),
        "updated_at": iso(a.updated_at),
    }


# --- the API's view -----------------------------------------------------------------------


async def page(
    runtime: Runtime, account_ids: tuple[str, ...], *, status: str | None, kind: str | None,
    position: Position | None, limit: int,
) -> PageSlice[Anomaly]:  # fmt: skip
    async with runtime.db.scanner() as session:
        rows = await repo.page(
            session, account_ids, status=status, kind=kind, position=position, limit=limit
        )
    return slice_page(rows, limit, position, lambda a: [a.detected_at, a.id])


async def environment_accounts(runtime: Runtime, environment_id: str) -> tuple[str, ...]:
    async with runtime.db.scanner() as session:
        accounts = await analytics_repo.accounts_of(session, environment_id)
    return tuple(a.id for a in accounts)


async def get(runtime: Runtime, environment_id: str, anomaly_id: str) -> Anomaly | None:
    ids = await environment_accounts(runtime, environment_id)
    async with runtime.db.scanner() as session:
        return await repo.get(session, anomaly_id, ids)


async def set_status(
    runtime: Runtime, environment_id: str, anomaly_id: str, status: str
) -> Anomaly | None:
    ids = await environment_accounts(runtime, environment_id)
    async with runtime.db.session() as session:
        found = await repo.get(session, anomaly_id, ids)
        if found is None:
            return None
        found.status, found.updated_at = status, now_ms()
        if status != "open":
            # Acknowledged or resolved: no more reminders (what is still queued is dropped;
            # the weekly digest lists open anomalies only).
            await notifications.cancel_about(session, found.id)
        return found
