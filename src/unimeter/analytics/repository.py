"""SQL of the analytics: seat holders, their last active day, settings, the team map's
sources, reconciliation and the audit (consumption is in ``consumption_repository``).

Analyses read members, the usage facts and their rollups (``user_day_rollups``), not a
vendor's raw records, so one over months of a large team stays a grouped scan of an index
(the few answers that need raw records read them in ``records_repository``).
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
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import (
    AnalyticsSettings,
    BillingGroup,
    DirectoryEntry,
    GroupMembership,
    IntegratedAccount,
    Member,
    MemberIdentity,
    RemovalUsage,
    UsageFact,
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
    session: AsyncSession,
    account_ids: Sequence[str],
    as_of: dt.date,
    products: Sequence[str] | None = None,
) -> list[LastActive]:
    """The last day on or before ``as_of`` each person was active (in one of ``products``,
    when given): the vendor's day total marks the day active, or they have usage on it (any
    detail fact, through their rollups). Both name the person by email."""
    f = UsageFact
    marked = (
        select(f.account_id, null().label("member_id"), f.user_email, func.max(f.day))
        .where(f.account_id.in_(account_ids), f.is_day_total.is_(True), f.user_email != "",
               f.is_active.is_(True), f.day <= as_of,
               *([f.product.in_(products)] if products is not None else []))
        .group_by(f.account_id, f.user_email)
    )  # fmt: skip
    r = UserDayRollup
    used = (
        select(r.account_id, null().label("member_id"), r.user_email, func.max(r.day))
        # Every rollup row has usage; not asking keeps the scan inside an index.
        .where(r.account_id.in_(account_ids), r.user_email != "", r.day <= as_of,
               *([r.product.in_(products)] if products is not None else []))
        .group_by(r.account_id, r.user_email)
    )  # fmt: skip
    rows: Sequence[Any] = (await session.execute(union_all(marked, used))).all()
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
    session: AsyncSession,
    users: Sequence[tuple[str, str]],
    start: dt.date,
    end: dt.date,
    products: Sequence[str] | None = None,
) -> list[tuple[Any, ...]]:
    """``(account, user, day, product, *CONSUMPTION_METRICS)`` for every day with usage of
    these ``(account, user)`` (in one of ``products``, when given)."""
    r = UserDayRollup
    out: list[tuple[Any, ...]] = []
    only = [r.product.in_(products)] if products is not None else []
    for first in range(0, len(users), USERS_PER_BATCH):
        batch = list(users[first : first + USERS_PER_BATCH])
        rows = await session.execute(
            select(r.account_id, r.user_email, r.day, r.product,
                   *[getattr(r, n) for n in CONSUMPTION_METRICS])
            .where(tuple_(r.account_id, r.user_email).in_(batch), r.day >= start, r.day < end,
                   *only)
        )  # fmt: skip
        out += [tuple(row) for row in rows.all()]
    return out


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


@dataclass(frozen=True, slots=True)
class AfterRemoval:
    account_id: str
    member_id: int | None
    email: str | None
    records: int
    charged_cents_e6: int
    first_ms: int
    last_ms: int


async def usage_after_removal(
    session: AsyncSession, account_ids: Sequence[str]
) -> list[AfterRemoval]:
    """Usage recorded after a member's removal, per member, as every sync keeps it."""
    r = RemovalUsage
    rows = await session.execute(
        select(r.account_id, r.member_id, r.email, r.records, r.charged_cents_e6, r.first_at,
               r.last_at)
        .where(r.account_id.in_(list(account_ids)))
        .order_by(r.account_id, r.member_key)
    )  # fmt: skip
    return [AfterRemoval(*row) for row in rows.all()]
