"""SQL of anomaly detection: daily series per user from the rollups and the detail usage
facts, and the anomaly rows (their evidence records come from ``records_repository``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import Anomaly, UserDayRollup
from unimeter.kit.cursors import Position

from . import facts_sql


async def latest_day(session: AsyncSession, account_id: str) -> dt.date | None:
    r = UserDayRollup
    day: dt.date | None = await session.scalar(
        select(func.max(r.day)).where(r.account_id == account_id)
    )
    return day


async def first_days(session: AsyncSession, account_id: str) -> dict[str, dt.date]:
    r = UserDayRollup
    rows = await session.execute(
        select(r.user_email, func.min(r.day))
        .where(r.account_id == account_id, r.user_email != "")
        .group_by(r.user_email)
    )
    return {str(user): day for user, day in rows.all()}


async def user_days(
    session: AsyncSession, account_id: str, start: dt.date, end: dt.date
) -> list[tuple[str, dt.date, int, int, int]]:
    """``(user, day, charged, tokens, headless charged)`` for days in ``[start, end]``."""
    r = UserDayRollup
    tokens = r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens
    # Summed over the products a vendor reports a person's day in.
    rows = await session.execute(
        select(r.user_email, r.day, func.sum(r.charged_cents_e6), func.sum(tokens),
               func.sum(r.headless_cents_e6))
        .where(r.account_id == account_id, r.user_email != "", r.day >= start, r.day <= end)
        .group_by(r.user_email, r.day)
    )  # fmt: skip
    return [(u, d, int(c or 0), int(t or 0), int(h or 0)) for u, d, c, t, h in rows.all()]


# Users per statement when reading some users' rows: bounds the bound parameters.
USERS_PER_BATCH = 500


async def user_model_days(
    session: AsyncSession, account_id: str, start: dt.date, end: dt.date,
    users: Sequence[str] | None = None,
) -> list[tuple[str, dt.date, str, int, int]]:  # fmt: skip
    """``(user, day, model, charged, requests)`` for days in ``[start, end]``, of every
    user or only of ``users``, from the detail facts (a vendor that does not count requests
    gives 0, and no cost per request to compare)."""
    r = facts_sql.FACT
    cost, requests = facts_sql.metric("cost_cents_e6"), facts_sql.metric("requests")
    stmt = (
        select(r.user_email, r.day, r.model, func.sum(cost), func.sum(requests))
        .where(r.account_id == account_id, facts_sql.DETAIL, r.user_email != "",
               r.day >= start, r.day <= end)
        .group_by(r.user_email, r.day, r.model)
    )  # fmt: skip
    batches = [None] if users is None else [
        users[n : n + USERS_PER_BATCH] for n in range(0, len(users), USERS_PER_BATCH)
    ]  # fmt: skip
    out = []
    for batch in batches:
        chosen = stmt if batch is None else stmt.where(r.user_email.in_(batch))
        rows = await session.execute(chosen)
        out += [(u, d, m, int(c or 0), int(n or 0)) for u, d, m, c, n in rows.all()]
    return out


async def existing_keys(
    session: AsyncSession, account_id: str, days: Sequence[dt.date]
) -> set[tuple[str, str, dt.date, str]]:
    a = Anomaly
    rows = await session.execute(
        select(a.kind, a.user_email, a.day, a.subject).where(
            a.account_id == account_id, a.day.in_(list(days))
        )
    )
    return {(k, u, d, s) for k, u, d, s in rows.all()}


async def add(session: AsyncSession, anomalies: Sequence[Anomaly]) -> None:
    session.add_all(anomalies)
    await session.flush()


async def page(
    session: AsyncSession,
    account_ids: Sequence[str],
    *,
    status: str | None,
    kind: str | None,
    position: Position | None,
    limit: int,
) -> Sequence[Anomaly]:
    a = Anomaly
    stmt = select(a).where(a.account_id.in_(account_ids))
    if status is not None:
        stmt = stmt.where(a.status == status)
    if kind is not None:
        stmt = stmt.where(a.kind == kind)
    columns: list[Any] = [a.detected_at, a.id]
    return (
        await session.scalars(keyset.apply(stmt, columns, position, limit, descending=True))
    ).all()


async def get(session: AsyncSession, anomaly_id: str, account_ids: Sequence[str]) -> Anomaly | None:
    found: Anomaly | None = await session.scalar(
        select(Anomaly).where(Anomaly.id == anomaly_id, Anomaly.account_id.in_(account_ids))
    )
    return found
