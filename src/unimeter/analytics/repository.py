"""SQL of the analytics: seat holders, their last active day, settings, the team map's
sources, reconciliation and the audit (consumption is in ``consumption_repository``).

Analyses read rollups (``user_day_rollups``, ``daily_usage``), not raw events, so one over
months of a large team stays a grouped scan of an index.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import (
    AnalyticsSettings,
    BillingGroup,
    DailyUsage,
    DirectoryEntry,
    GroupMembership,
    IntegratedAccount,
    Member,
    MemberIdentity,
    SpendSnapshot,
    SpendSnapshotMember,
    UsageEvent,
    UserDayRollup,
)

from .consumption_repository import CONSUMPTION_METRICS


@dataclass(frozen=True, slots=True)
class SeatHolder:
    account_id: str
    member_id: int
    user_id: str
    email: str
    name: str | None
    role: str | None


@dataclass(frozen=True, slots=True)
class LastActive:
    account_id: str
    member_id: int | None
    email: str | None
    day: dt.date


async def seat_holders(session: AsyncSession, account_ids: Sequence[str]) -> list[SeatHolder]:
    """Members holding a seat now: not removed."""
    m = Member
    rows = await session.execute(
        select(m.account_id, m.id, m.remote_id, m.email, m.name, m.role)
        .where(m.account_id.in_(account_ids), m.is_removed.is_(False))
        .order_by(m.account_id, m.email, m.id)
    )
    return [SeatHolder(*row) for row in rows.all()]


async def member_emails(
    session: AsyncSession, account_ids: Sequence[str]
) -> list[tuple[str, int, str]]:
    """Every ``(account, member, email)`` a member was seen with, current email included."""
    current = select(Member.account_id, Member.id, Member.email).where(
        Member.account_id.in_(account_ids)
    )
    past = select(MemberIdentity.account_id, MemberIdentity.member_id, MemberIdentity.email).where(
        MemberIdentity.account_id.in_(account_ids)
    )
    rows = await session.execute(union_all(current, past))
    return [(a, int(m), e) for a, m, e in rows.all()]


async def last_active_days(
    session: AsyncSession, account_ids: Sequence[str], as_of: dt.date
) -> list[LastActive]:
    """The last day on or before ``as_of`` each person was active: Cursor marked the day
    active, or they have usage events on it. Daily rows name the member when the sync
    matched one, else the email; event rollups name the email."""
    d = DailyUsage
    daily = (
        select(d.account_id, d.member_id, d.email, func.max(d.day).label("day"))
        .where(d.account_id.in_(account_ids), d.is_active.is_(True), d.day <= as_of)
        .group_by(d.account_id, d.member_id, d.email)
    )
    r = UserDayRollup
    events = (
        select(r.account_id, null().label("member_id"), r.user_email, func.max(r.day))
        # Every rollup row has events; not asking keeps the scan inside an index.
        .where(r.account_id.in_(account_ids), r.user_email != "", r.day <= as_of)
        .group_by(r.account_id, r.user_email)
    )
    rows: Sequence[Any] = (await session.execute(union_all(daily, events))).all()
    return [LastActive(a, m, e, day) for a, m, e, day in rows]


# --- settings -----------------------------------------------------------------------------


async def get_settings(session: AsyncSession, account_id: str) -> AnalyticsSettings | None:
    return await session.get(AnalyticsSettings, account_id)


async def settings_for(
    session: AsyncSession, account_ids: Sequence[str]
) -> dict[str, AnalyticsSettings]:
    rows = await session.scalars(
        select(AnalyticsSettings).where(AnalyticsSettings.account_id.in_(account_ids))
    )
    return {s.account_id: s for s in rows.all()}


async def accounts_of(
    session: AsyncSession,
    environment_id: str | None,
    *,
    account_id: str | None = None,
    tenant_id: str | None = None,
) -> list[IntegratedAccount]:
    """The environment's accounts with this id, or of this tenant."""
    a = IntegratedAccount
    stmt = select(a).order_by(a.created_at, a.id)
    if environment_id is not None:
        stmt = stmt.where(a.environment_id == environment_id)
    if account_id is not None:
        stmt = stmt.where(a.id == account_id)
    if tenant_id is not None:
        stmt = stmt.where(a.tenant_id == tenant_id)
    return list((await session.scalars(stmt)).all())


async def get_or_add_settings(session: AsyncSession, account_id: str) -> AnalyticsSettings:
    settings = await session.get(AnalyticsSettings, account_id, with_for_update=True)
    if settings is None:
        settings = AnalyticsSettings(account_id=account_id, options={})
        session.add(settings)
    return settings


# --- directory and team mapping ------------------------------------------------------------


async def replace_directory(
    session: AsyncSession, account_id: str, entries: Sequence[dict[str, Any]]
) -> None:
    await session.execute(delete(DirectoryEntry).where(DirectoryEntry.account_id == account_id))
    if entries:
        await session.execute(
            insert(DirectoryEntry), [{**e, "account_id": account_id} for e in entries]
        )


async def directory(session: AsyncSession, account_id: str) -> list[DirectoryEntry]:
    rows = await session.scalars(
        select(DirectoryEntry)
        .where(DirectoryEntry.account_id == account_id)
        .order_by(DirectoryEntry.line, DirectoryEntry.id)
    )
    return list(rows.all())


async def has_directory(session: AsyncSession, account_id: str) -> bool:
    found = await session.scalar(
        select(DirectoryEntry.id).where(DirectoryEntry.account_id == account_id).limit(1)
    )
    return found is not None


@dataclass(frozen=True, slots=True)
class Stint:
    email: str | None
    group_name: str
    group_type: str | None
    joined_at: int
    left_at: int | None


async def group_stints(session: AsyncSession, account_id: str) -> list[Stint]:
    """Billing-group memberships with the group's name and type and the member's email
    (the membership's own, else the member's)."""
    g, gm, m = BillingGroup, GroupMembership, Member
    rows = await session.execute(
        select(func.coalesce(gm.email, m.email), g.name, g.type, gm.joined_at, gm.left_at)
        .join(g, (g.account_id == gm.account_id) & (g.remote_id == gm.group_remote_id))
        .outerjoin(m, (m.account_id == gm.account_id) & (m.remote_id == gm.member_remote_id))
        .where(gm.account_id == account_id)
    )
    return [Stint(*row) for row in rows.all()]


# Users per statement when reading some users' days: bounds the bound parameters.
USERS_PER_BATCH = 500


async def cost_by_user_day(
    session: AsyncSession, users: Sequence[tuple[str, str]], start: dt.date, end: dt.date
) -> list[tuple[Any, ...]]:
    """``(account, user, day, *CONSUMPTION_METRICS)`` for every day with usage of these
    ``(account, user)``."""
    r = UserDayRollup
    out: list[tuple[Any, ...]] = []
    for first in range(0, len(users), USERS_PER_BATCH):
        batch = list(users[first : first + USERS_PER_BATCH])
        rows = await session.execute(
            select(r.account_id, r.user_email, r.day,
                   *[getattr(r, n) for n in CONSUMPTION_METRICS])
            .where(tuple_(r.account_id, r.user_email).in_(batch), r.day >= start, r.day < end)
        )  # fmt: skip
        out += [tuple(row) for row in rows.all()]
    return out


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


@dataclass(frozen=True, slots=True)
class AfterRemoval:
    account_id: str
    member_id: int | None
    email: str | None
    events: int
    charged_cents_e6: int
    first_ms: int
    last_ms: int


async def usage_after_removal(
    session: AsyncSession, account_ids: Sequence[str]
) -> list[AfterRemoval]:
    """Usage events the sync flagged as after their member's removal, per member."""
    e = UsageEvent
    rows = await session.execute(
        select(
            e.account_id, e.member_id, func.max(e.email), func.count(),
            func.sum(e.charged_cents_e6), func.min(e.timestamp_ms), func.max(e.timestamp_ms),
        )
        .where(e.account_id.in_(account_ids), e.after_removal.is_(True))
        .group_by(e.account_id, e.member_id)
    )  # fmt: skip
    return [
        AfterRemoval(a, m, em, int(n), int(c or 0), int(f), int(la))
        for a, m, em, n, c, f, la in rows.all()
    ]


async def removed_members(
    session: AsyncSession, account_ids: Sequence[str]
) -> dict[int, tuple[str, str, int | None]]:
    """``{member id: (user id, email, removed at)}`` of removed members."""
    m = Member
    rows = await session.execute(
        select(m.id, m.remote_id, m.email, m.removed_at).where(
            m.account_id.in_(account_ids), m.is_removed.is_(True)
        )
    )
    return {i: (r, e, at) for i, r, e, at in rows.all()}
