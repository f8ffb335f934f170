"""SQL for exports: server-side cursors, so an export of millions of rows stays small."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import (
    DailyUsage,
    Member,
    MemberIdentity,
    SpendSnapshot,
    SpendSnapshotMember,
    UsageEvent,
    UsageFact,
)

DAY_MS = 86_400_000
BATCH = 2000


def _ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)


async def _stream(session: AsyncSession, stmt: Select[Any]) -> AsyncIterator[Any]:
    result = await session.stream_scalars(stmt.execution_options(yield_per=BATCH))
    async for row in result:
        yield row


def events(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[UsageEvent]:
    stmt = select(UsageEvent).where(UsageEvent.account_id == account_id)
    if start is not None:
        stmt = stmt.where(UsageEvent.timestamp_ms >= _ms(start))
    if end is not None:
        stmt = stmt.where(UsageEvent.timestamp_ms < _ms(end) + DAY_MS)
    return _stream(session, stmt.order_by(UsageEvent.timestamp_ms, UsageEvent.id))


def daily_usage(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[DailyUsage]:
    stmt = select(DailyUsage).where(DailyUsage.account_id == account_id)
    if start is not None:
        stmt = stmt.where(DailyUsage.day >= start)
    if end is not None:
        stmt = stmt.where(DailyUsage.day <= end)
    return _stream(session, stmt.order_by(DailyUsage.day, DailyUsage.user_key))


def members(session: AsyncSession, account_id: str) -> AsyncIterator[Member]:
    stmt = select(Member).where(Member.account_id == account_id).order_by(Member.id)
    return _stream(session, stmt)


async def spend(
    session: AsyncSession, account_id: str, start: dt.date | None, end: dt.date | None
) -> AsyncIterator[tuple[SpendSnapshot, SpendSnapshotMember]]:
    stmt = (
        select(SpendSnapshot, SpendSnapshotMember)
        .join(SpendSnapshotMember, SpendSnapshotMember.snapshot_id == SpendSnapshot.id)
        .where(SpendSnapshot.account_id == account_id)
    )
    if start is not None:
        stmt = stmt.where(SpendSnapshot.taken_at >= _ms(start))
    if end is not None:
        stmt = stmt.where(SpendSnapshot.taken_at < _ms(end) + DAY_MS)
    stmt = stmt.order_by(SpendSnapshot.taken_at, SpendSnapshotMember.id)
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    async for snapshot, member in result:
        yield snapshot, member


# The sums of a FOCUS charge, in the order of ``focus.Charge`` after its key, and the detail
# fact metric behind each.
CHARGE_METRICS = (
    ("events", "requests"), ("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
    ("cache_read_tokens", "cache_read_tokens"), ("cache_write_tokens", "cache_write_tokens"),
    ("charged_cents_e6", "cost_cents_e6"), ("included_cents_e6", "included_cents_e6"),
    ("usage_based_cents_e6", "usage_based_cents_e6"),
)  # fmt: skip
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


async def charges(
    session: AsyncSession,
    account_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    products: Sequence[str] | None = None,
) -> AsyncIterator[tuple[Any, ...]]:
    """``(account, day, user, model, product, *CHARGE_METRICS)`` per (account, day, user,
    model, product) of the detail usage facts in ``[start, end)``, summed over surfaces, in
    that key order; only groups with requests, tokens or a non-zero charge. A metric no fact
    of a group reports is NULL (unknown), not 0. ``products``: only these."""
    f = UsageFact
    key = (f.account_id, f.day, f.user_email, f.model, f.product)
    sums = [func.sum(getattr(f, fact)) for _, fact in CHARGE_METRICS]
    stmt = (
        select(*key, *sums)
        .where(f.account_id.in_(account_ids), f.day >= start, f.day < end,
               f.is_day_total.is_(False),
               *([f.product.in_(products)] if products is not None else []))
        .group_by(*key)
        .having(or_(func.sum(f.requests) > 0, *[func.sum(getattr(f, t)) > 0 for t in _TOKENS],
                    func.sum(f.cost_cents_e6) != 0))
        .order_by(*key)
    )  # fmt: skip
    result = await session.stream(stmt.execution_options(yield_per=BATCH))
    async for row in result:
        yield tuple(row)


async def member_names(
    session: AsyncSession, account_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """``{(account, lower-case email): member's name}`` over current and past emails (the
    current email wins)."""
    m, i = Member, MemberIdentity
    past = await session.execute(
        select(i.account_id, i.email, m.name)
        .join(m, m.id == i.member_id)
        .where(i.account_id.in_(account_ids), m.name.is_not(None))
    )
    current = await session.execute(
        select(m.account_id, m.email, m.name).where(
            m.account_id.in_(account_ids), m.name.is_not(None)
        )
    )
    names: dict[tuple[str, str], str] = {}
    for account_id, email, name in [*past.all(), *current.all()]:
        if name:
            names[(account_id, email.lower())] = name
    return names
