"""SQL of the adoption scorecards: per person, the days marked active and the activity
metrics summed from the usage facts, the days with usage, the roster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import Member, UsageFact, UserDayRollup
from unimeter.db.periods import day_list, parse_day_list

from .repository import SeatHolder

# The activity metrics the scorecards sum: completions, edits and requests by feature.
ADOPTION_METRICS = (
    "completions_shown", "completions_accepted", "applies", "accepts", "agent_requests",
    "chat_requests", "edit_requests", "inline_edit_requests", "review_requests",
)  # fmt: skip


def _chosen(name: str, day_total_accounts: Sequence[str]) -> Any:
    """The metric from the day totals for accounts whose vendor reports it there, from the
    detail facts otherwise: the two may overlap, so an unsplit answer never adds them."""
    f = UsageFact
    detail = f.is_day_total.is_(False)
    if not day_total_accounts:
        return case((detail, getattr(f, name)))
    listed = f.account_id.in_(day_total_accounts)
    wanted = or_(and_(listed, f.is_day_total.is_(True)), and_(~listed, detail))
    return case((wanted, getattr(f, name)))


async def member_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date,
    day_totals: Mapping[str, Sequence[str]],
) -> list[tuple[Any, ...]]:  # fmt: skip
    """``(account, email, active days, *sums, *counts)`` per person: the days a fact marks
    active, each of ``ADOPTION_METRICS`` summed, and how many facts report it (0: the
    vendor does not report it, unknown rather than zero). ``day_totals`` maps a metric to
    the accounts whose vendor reports it in day totals."""
    f = UsageFact
    key = (f.account_id, f.user_email)
    chosen = [_chosen(name, day_totals.get(name, ())) for name in ADOPTION_METRICS]
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(*key, day_list(dialect, f.day, f.is_active.is_(True)),
               *[func.sum(c) for c in chosen], *[func.count(c) for c in chosen])
        .where(f.account_id.in_(account_ids), f.user_email != "", f.day >= start, f.day < end)
        .group_by(*key)
    )  # fmt: skip
    return [(a, e, parse_day_list(days), *v) for a, e, days, *v in rows.all()]


async def event_days(
    session: AsyncSession, account_ids: Sequence[str], start: dt.date, end: dt.date
) -> list[tuple[str, str, set[dt.date]]]:
    """``(account, user, days)``: the days each user has usage events."""
    r = UserDayRollup
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(r.account_id, r.user_email, day_list(dialect, r.day))
        .where(r.account_id.in_(account_ids), r.user_email != "", r.day >= start, r.day < end)
        .group_by(r.account_id, r.user_email)
    )
    return [(a, u, parse_day_list(days)) for a, u, days in rows.all()]


async def members_during(
    session: AsyncSession, account_ids: Sequence[str], start_ms: int
) -> list[SeatHolder]:
    """Members who held a seat at some point since ``start_ms``: current ones, and those
    removed after it."""
    m = Member
    rows = await session.execute(
        select(m.account_id, m.id, m.remote_id, m.email, m.name, m.role)
        .where(
            m.account_id.in_(account_ids),
            (m.is_removed.is_(False)) | (m.removed_at >= start_ms),
        )
        .order_by(m.account_id, m.email, m.id)
    )
    return [SeatHolder(*row) for row in rows.all()]
