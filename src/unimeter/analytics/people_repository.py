"""SQL of the people analysis: seat holders, each person's usage per product, directory
aliases. Grouping people across accounts (aliases, one email in several vendors) happens
in Python (``people.py``): it needs the alias map, and a tenant has at most thousands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import DirectoryEntry, Member, UsageFact, UserDayRollup
from unimeter.db.periods import day_list, parse_day_list

from .consumption_repository import CONSUMPTION_METRICS


@dataclass(frozen=True, slots=True)
class MemberRow:
    account_id: str
    email: str
    name: str | None
    is_removed: bool
    removed_at: int | None  # epoch ms


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One user's usage of one product in one account over the range."""

    account_id: str
    user_email: str  # "" for usage no person is attributed to
    product: str
    days: set[dt.date]  # days with usage, or marked active by the vendor
    metrics: dict[str, int]


async def members(session: AsyncSession, account_ids: Sequence[str]) -> list[MemberRow]:
    m = Member
    rows = await session.execute(
        select(m.account_id, m.email, m.name, m.is_removed, m.removed_at)
        .where(m.account_id.in_(account_ids))
        .order_by(m.account_id, m.id)
    )
    return [MemberRow(a, e, n, bool(r), at) for a, e, n, r, at in rows.all()]


async def usage(
    session: AsyncSession,
    account_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    products: Sequence[str] | None,
) -> list[UsageRow]:
    """Per (account, user, product): the consumption sums and the days with usage over
    ``[start, end)``, from the daily rollups; plus the days the vendor's day totals mark
    active without usage (no sums: those are in the rollups)."""
    dialect = session.get_bind().dialect.name
    r, f = UserDayRollup, UsageFact
    key = (r.account_id, r.user_email, r.product)
    used = await session.execute(
        select(*key, day_list(dialect, r.day),
               *[func.sum(getattr(r, n)) for n in CONSUMPTION_METRICS])
        .where(r.account_id.in_(account_ids), r.day >= start, r.day < end,
               *([r.product.in_(products)] if products is not None else []))
        .group_by(*key)
    )  # fmt: skip
    out = [
        UsageRow(a, u, p, parse_day_list(days),
                 {n: int(v or 0) for n, v in zip(CONSUMPTION_METRICS, sums, strict=True)})
        for a, u, p, days, *sums in used.all()
    ]  # fmt: skip
    fkey = (f.account_id, f.user_email, f.product)
    marked = await session.execute(
        select(*fkey, day_list(dialect, f.day))
        .where(f.account_id.in_(account_ids), f.is_day_total.is_(True), f.user_email != "",
               f.is_active.is_(True), f.day >= start, f.day < end,
               *([f.product.in_(products)] if products is not None else []))
        .group_by(*fkey)
    )  # fmt: skip
    zero = dict.fromkeys(CONSUMPTION_METRICS, 0)
    out += [UsageRow(a, u, p, parse_day_list(days), dict(zero)) for a, u, p, days in marked.all()]
    return out


async def aliases(session: AsyncSession, account_ids: Sequence[str]) -> list[tuple[str, Any]]:
    """``(primary email, aliases)`` of the directory entries that list aliases (a JSON null
    and SQL NULL both mean none: the caller skips them)."""
    d = DirectoryEntry
    rows = await session.execute(select(d.email, d.aliases).where(d.account_id.in_(account_ids)))
    return [(str(email), found) for email, found in rows.all() if found]
