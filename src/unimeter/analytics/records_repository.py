"""The one place analyses read a vendor's own records instead of the usage facts.

Usage facts are per day; two answers need finer or vendor-owned records, and each is
optional: a vendor that keeps no such records gives an empty answer, and the analysis
says what it could not check (``coverage``). (Usage after a removal is summarised per
member by every sync, in ``removal_usage``, and read by the audit from there.)

- Reconciliation compares the vendor's spend snapshots (its own bill) with the charges of
  the stored usage records over the same span, to the millisecond: whole days from the
  rollups, the partial first and last days from the records.
- Anomaly evidence: the ids of a day's costliest records behind a finding.

The tables read here (``usage_events``, ``spend_snapshots``) hold neutral columns written by
the sync from each connector's records; their raw payloads stay with the vendor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.facts import INTERACTIVE_SURFACES
from unimeter.db.models import SpendSnapshot, SpendSnapshotMember, UsageEvent, UserDayRollup


@dataclass(frozen=True, slots=True)
class CycleSnapshot:
    account_id: str
    cycle_start_ms: int
    taken_at: int
    # email → overall spend of the cycle so far, in cents * 10**6
    overall: dict[str, int]


async def latest_snapshots(
    session: AsyncSession, account_ids: Sequence[str]
) -> list[CycleSnapshot]:
    """The latest spend snapshot of every billing cycle, with each member's overall spend."""
    s = SpendSnapshot
    latest = (
        select(s.account_id, s.cycle_start_ms, func.max(s.taken_at).label("taken_at"))
        .where(s.account_id.in_(account_ids), s.cycle_start_ms.is_not(None))
        .group_by(s.account_id, s.cycle_start_ms)
        .subquery()
    )
    chosen = await session.execute(
        select(s.id, s.account_id, s.cycle_start_ms, s.taken_at).join(
            latest,
            (s.account_id == latest.c.account_id)
            & (s.cycle_start_ms == latest.c.cycle_start_ms)
            & (s.taken_at == latest.c.taken_at),
        )
    )
    out = []
    for snapshot_id, account_id, cycle_start, taken_at in chosen.all():
        rows = await session.execute(
            select(SpendSnapshotMember.email, SpendSnapshotMember.overall_cents_e6).where(
                SpendSnapshotMember.snapshot_id == snapshot_id
            )
        )
        overall = {email.lower(): int(cents) for email, cents in rows.all()}
        out.append(CycleSnapshot(account_id, int(cycle_start or 0), int(taken_at), overall))
    return sorted(out, key=lambda c: (c.account_id, c.cycle_start_ms))


async def charged_by_user(
    session: AsyncSession, account_id: str, start_ms: int, end_ms: int
) -> dict[str, int]:
    """Charged cents * 10**6 per user for events in ``[start_ms, end_ms]``: whole days from
    the rollups, the partial first and last days from the events."""
    first, last = _utc_day(start_ms), _utc_day(end_ms)
    totals: dict[str, int] = {}

    def add(rows: Sequence[Any]) -> None:
        for email, cents in rows:
            totals[email] = totals.get(email, 0) + int(cents or 0)

    r, e = UserDayRollup, UsageEvent
    if last > first + dt.timedelta(days=1):
        add((await session.execute(
            select(r.user_email, func.sum(r.charged_cents_e6))
            .where(r.account_id == account_id, r.day > first, r.day < last)
            .group_by(r.user_email)
        )).all())  # fmt: skip
    edges = [(start_ms, min(end_ms, _day_start_ms(first) + DAY_MS - 1))]
    if last > first:
        edges.append((_day_start_ms(last), end_ms))
    # One labelled expression: PostgreSQL sees two bound "" parameters as two expressions.
    owner = func.coalesce(e.email, literal_column("''")).label("owner")
    for low, high in edges:
        add((await session.execute(
            select(owner, func.sum(e.charged_cents_e6))
            .where(e.account_id == account_id, e.timestamp_ms >= low, e.timestamp_ms <= high)
            .group_by(owner)
        )).all())  # fmt: skip
    return totals


DAY_MS = 86_400_000


def _utc_day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _day_start_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * DAY_MS


async def costliest_records(
    session: AsyncSession, account_id: str, email: str, day: dt.date, *, model: str | None,
    headless: bool, limit: int = 20,
) -> list[str]:  # fmt: skip
    """The ids of a person's costliest usage records of a day (of one model, or off the
    editor): the evidence behind an anomaly."""
    e = UsageEvent
    start = _day_start_ms(day)
    # The day as a time range too: the (account, timestamp) index finds the day's events;
    # by email and day alone, SQLite scanned every event of the account (0.8 s at 100 k).
    stmt = select(e.fingerprint).where(
        e.account_id == account_id,
        e.timestamp_ms >= start,
        e.timestamp_ms < start + DAY_MS,
        e.email == email,
        e.day == day,
    )
    if model is not None:
        stmt = stmt.where(e.model == model)
    if headless:
        stmt = stmt.where(e.surface.not_in(sorted(INTERACTIVE_SURFACES)))
    stmt = stmt.order_by(e.charged_cents_e6.desc(), e.fingerprint).limit(limit)
    return list((await session.scalars(stmt)).all())
