"""After a sync: removal times, usage after removal, and recovering who an event belongs to.

Cursor blanks ``userEmail`` on a removed member's events. Events synced while the member was
active keep the email we stored then. For events first seen after the removal, the owner is
recovered, where possible, from (1) another event of the same conversation, and (2) the
daily usage rows, which keep emails: on a day when exactly one removed member has requests
that the attributed events do not already explain, the unexplained events are theirs.
Whatever cannot be recovered stays unattributed rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import MEMBER_REMOVED
from unimeter.db.models import AuditEvent, DailyUsage, Member, RemovalUsage, UsageEvent


@dataclass(slots=True)
class AttributionStats:
    removal_times_from_audit: int = 0
    by_conversation: int = 0
    by_daily_usage: int = 0
    unattributed: int = 0
    events_after_removal: int = 0
    days_after_removal: int = 0


async def finalize(session: AsyncSession, account_id: str) -> tuple[AttributionStats, set[dt.date]]:
    """Returns what was done, and the days whose events changed owner (for rollups)."""
    stats = AttributionStats()
    days: set[dt.date] = set()
    stats.removal_times_from_audit = await _removal_times(session, account_id)
    stats.by_conversation = await _by_conversation(session, account_id, days)
    stats.by_daily_usage = await _by_daily_usage(session, account_id, days)
    stats.by_conversation += await _by_conversation(session, account_id, days)
    await _link_members(session, account_id)
    stats.events_after_removal, stats.days_after_removal = await _flag_after_removal(
        session, account_id
    )
    await _summarise_after_removal(session, account_id)
    stats.unattributed = int(
        await session.scalar(
            select(func.count())
            .select_from(UsageEvent)
            .where(UsageEvent.account_id == account_id, UsageEvent.email.is_(None))
        )
        or 0
    )
    return stats, days


async def _removal_times(session: AsyncSession, account_id: str) -> int:
    removed = (
        await session.scalars(
            select(Member).where(Member.account_id == account_id, Member.is_removed.is_(True))
        )
    ).all()
    pending = {m.email: m for m in removed if m.removal_source != "audit_log"}
    if not pending:
        return 0
    rows = await session.execute(
        select(AuditEvent.timestamp_ms, AuditEvent.subject_email)
        .where(AuditEvent.account_id == account_id, AuditEvent.action == MEMBER_REMOVED)
        .order_by(AuditEvent.timestamp_ms)
    )
    found = 0
    for ts, email in rows:
        member = pending.get(email or "")
        if member is not None:
            member.removed_at, member.removal_source = ts, "audit_log"
            found += 1
    return found


async def _by_conversation(session: AsyncSession, account_id: str, days: set[dt.date]) -> int:
    orphans = (
        await session.execute(
            select(UsageEvent.conversation_id)
            .where(
                UsageEvent.account_id == account_id,
                UsageEvent.email.is_(None),
                UsageEvent.conversation_id.is_not(None),
            )
            .distinct()
        )
    ).scalars()
    owners = await session.execute(
        select(UsageEvent.conversation_id, UsageEvent.email)
        .where(
            UsageEvent.account_id == account_id,
            UsageEvent.conversation_id.in_(list(orphans)),
            UsageEvent.email.is_not(None),
        )
        .distinct()
    )
    fixed = 0
    for conversation, email in owners.all():
        changed_days = await session.execute(
            select(UsageEvent.day)
            .where(
                UsageEvent.account_id == account_id,
                UsageEvent.conversation_id == conversation,
                UsageEvent.email.is_(None),
            )
            .distinct()
        )
        days.update(day for (day,) in changed_days.all())
        result = await session.execute(
            update(UsageEvent)
            .where(
                UsageEvent.account_id == account_id,
                UsageEvent.conversation_id == conversation,
                UsageEvent.email.is_(None),
            )
            .values(email=email, attribution="conversation")
        )
        fixed += int(getattr(result, "rowcount", 0) or 0)
    return fixed


async def _by_daily_usage(session: AsyncSession, account_id: str, days: set[dt.date]) -> int:
    rows = await session.execute(
        select(UsageEvent.day, func.count())
        .where(UsageEvent.account_id == account_id, UsageEvent.email.is_(None))
        .group_by(UsageEvent.day)
    )
    orphan_days = {day: int(n) for day, n in rows.all()}
    if not orphan_days:
        return 0
    candidates = await _removed_requests(session, account_id, list(orphan_days))
    if not candidates:
        return 0  # no removed member used the product those days: nobody to attribute to
    emails = {email for by_email in candidates.values() for email in by_email}
    explained = await _attributed_counts(session, account_id, list(candidates), emails)
    fixed = 0
    for day, orphans in orphan_days.items():
        unexplained = [
            email
            for email, requests in candidates.get(day, {}).items()
            if requests - explained.get((day, email), 0) >= orphans
        ]
        if len(unexplained) != 1:
            continue
        result = await session.execute(
            update(UsageEvent)
            .where(
                UsageEvent.account_id == account_id,
                UsageEvent.day == day,
                UsageEvent.email.is_(None),
            )
            .values(email=unexplained[0], attribution="daily_usage")
        )
        fixed += int(getattr(result, "rowcount", 0) or 0)
        days.add(day)
    return fixed


async def _attributed_counts(
    session: AsyncSession, account_id: str, days: list[dt.date], emails: set[str]
) -> dict[tuple[dt.date, str], int]:
    """Events already attributed to each of ``emails`` on each of ``days``."""
    rows = await session.execute(
        select(UsageEvent.day, UsageEvent.email, func.count())
        .where(
            UsageEvent.account_id == account_id,
            UsageEvent.day.in_(days),
            UsageEvent.email.in_(sorted(emails)),
        )
        .group_by(UsageEvent.day, UsageEvent.email)
    )
    return {(day, email): n for day, email, n in rows if email}


async def _removed_requests(
    session: AsyncSession, account_id: str, days: list[dt.date]
) -> dict[dt.date, dict[str, int]]:
    requests = (
        DailyUsage.included_requests + DailyUsage.usage_based_requests + DailyUsage.api_key_requests
    )
    rows = await session.execute(
        select(DailyUsage.day, DailyUsage.email, requests)
        .join(
            Member,
            and_(Member.account_id == DailyUsage.account_id, Member.email == DailyUsage.email),
        )
        .where(
            DailyUsage.account_id == account_id,
            DailyUsage.day.in_(days),
            Member.is_removed.is_(True),
            requests > 0,
        )
    )
    out: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for day, email, n in rows:
        out[day][email] = int(n)
    return out


async def _link_members(session: AsyncSession, account_id: str) -> None:
    """Point attributed events and daily rows at their member rows.

    One statement per table: the rows still unlinked are found through the (account,
    member) index, where one statement per member scanned every row of the account (an
    email has no index), so the whole step grew with members times events.
    """
    for table in (UsageEvent, DailyUsage):
        members = select(Member.email).where(Member.account_id == account_id)
        # The oldest member row with the email, as the per-member loop this replaces did.
        owner = (
            select(func.min(Member.id))
            .where(Member.account_id == account_id, Member.email == table.email)
            .scalar_subquery()
        )
        await session.execute(
            update(table)
            .where(
                table.account_id == account_id,
                table.member_id.is_(None),
                # Implied by the next line, but said first: most unlinked rows have no
                # email (Cursor blanked it), and PostgreSQL, without statistics yet on a
                # table a backfill just filled, otherwise compared each of them with every
                # member (0.5 s for 4,600 such events and 300 members).
                table.email.is_not(None),
                table.email.in_(members),
            )
            .values(member_id=owner)
            .execution_options(synchronize_session=False)
        )


async def _flag_after_removal(session: AsyncSession, account_id: str) -> tuple[int, int]:
    removed = await session.execute(
        select(Member.id, Member.removed_at).where(
            Member.account_id == account_id,
            Member.is_removed.is_(True),
            Member.removed_at.is_not(None),
        )
    )
    events = days = 0
    for member_id, removed_at in removed:
        assert removed_at is not None
        removal_day = dt.datetime.fromtimestamp(removed_at / 1000, tz=dt.UTC).date()
        flagged = await session.execute(
            update(UsageEvent)
            .where(UsageEvent.account_id == account_id, UsageEvent.member_id == member_id)
            .values(after_removal=UsageEvent.timestamp_ms >= removed_at)
        )
        del flagged
        events += int(
            await session.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(
                    UsageEvent.account_id == account_id,
                    UsageEvent.member_id == member_id,
                    UsageEvent.after_removal.is_(True),
                )
            )
            or 0
        )
        requests = (
            DailyUsage.included_requests
            + DailyUsage.usage_based_requests
            + DailyUsage.api_key_requests
        )
        await session.execute(
            update(DailyUsage)
            .where(DailyUsage.account_id == account_id, DailyUsage.member_id == member_id)
            .values(after_removal=and_(DailyUsage.day > removal_day, requests > 0))
        )
        days += int(
            await session.scalar(
                select(func.count())
                .select_from(DailyUsage)
                .where(
                    DailyUsage.account_id == account_id,
                    DailyUsage.member_id == member_id,
                    DailyUsage.after_removal.is_(True),
                )
            )
            or 0
        )
    return events, days


async def _summarise_after_removal(session: AsyncSession, account_id: str) -> None:
    """Keep ``removal_usage`` (usage after removal, per member) equal to the flagged
    records, so the audit reads one neutral table."""
    e = UsageEvent
    rows = (
        await session.execute(
            select(
                e.member_id, func.max(e.email), func.count(),
                func.coalesce(func.sum(e.charged_cents_e6), 0),
                func.min(e.timestamp_ms), func.max(e.timestamp_ms),
            )
            .where(e.account_id == account_id, e.after_removal.is_(True))
            .group_by(e.member_id)
        )
    ).all()  # fmt: skip
    await session.execute(delete(RemovalUsage).where(RemovalUsage.account_id == account_id))
    if rows:
        await session.execute(
            insert(RemovalUsage),
            [
                {
                    "account_id": account_id, "member_key": "" if m is None else str(m),
                    "member_id": m, "email": email, "records": int(n),
                    "charged_cents_e6": int(charged), "first_at": int(first),
                    "last_at": int(last),
                }
                for m, email, n, charged, first, last in rows
            ],
        )  # fmt: skip
