"""SQL for members and their identity history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import (
    MemberRecord,
)
from unimeter.db import user_records
from unimeter.db.base import now_ms
from unimeter.db.models import (
    Member,
    MemberEvent,
    MemberIdentity,
    UsageEvent,
    UsageFact,
)
from unimeter.sync.store.counts import Counts

# A member event before it is stored: (member, kind, at, role before, role after).
_Event = tuple[Member, str, int, str | None, str | None]

# -- members --------------------------------------------------------------------------------


async def member_ids_by_email(session: AsyncSession, account_id: str) -> dict[str, int]:
    rows = await session.execute(
        select(Member.email, Member.id).where(Member.account_id == account_id)
    )
    return dict(rows.all())


async def upsert_members(
    session: AsyncSession, account_id: str, records: Sequence[MemberRecord]
) -> Counts:
    now = now_ms()
    counts = Counts()
    existing = {
        m.remote_id: m
        for m in (
            await session.scalars(select(Member).where(Member.account_id == account_id))
        ).all()
    }
    events: list[_Event] = []
    written: list[Member] = []  # new or changed: their records are rendered again
    for r in records:
        m = existing.get(r.remote_id)
        if m is None:
            m = Member(account_id=account_id, remote_id=r.remote_id, first_seen_at=now)
            _apply_member(m, r, now)
            session.add(m)
            written.append(m)
            counts.inserted += 1
            events.append((m, "added", r.joined_at_ms or now, None, r.role))
            if r.is_removed:
                events.append((m, "removed", now, r.role, None))
        elif _member_changed(m, r):
            events.extend((m, *change) for change in _changes(m, r, now))
            _apply_member(m, r, now)
            written.append(m)
            counts.updated += 1
        else:
            m.last_seen_at = now
            counts.unchanged += 1
    await session.flush()
    by_remote = {m.remote_id: m for m in existing.values()}
    by_remote.update(
        {
            m.remote_id: m
            for m in (
                await session.scalars(select(Member).where(Member.account_id == account_id))
            ).all()
        }
    )
    await _record_identities(session, account_id, records, by_remote, now)
    await _record_events(session, account_id, events)
    if written:
        await user_records.refresh(session, account_id, [m.id for m in written])
    return counts


async def mark_absent_removed(session: AsyncSession, account_id: str, present: set[str]) -> Counts:
    """Members missing from a complete snapshot are removed (a vendor whose member list
    drops people instead of flagging them); the time is the sync's, as observed."""
    counts = Counts()
    now = now_ms()
    absent = (
        await session.scalars(
            select(Member).where(Member.account_id == account_id, Member.is_removed.is_(False))
        )
    ).all()
    events: list[_Event] = []
    for m in absent:
        if m.remote_id in present:
            continue
        m.is_removed, m.removed_at, m.removal_source = True, now, "observed"
        m.updated_at = now
        events.append((m, "removed", now, m.role, None))
        counts.updated += 1
    await session.flush()
    await _record_events(session, account_id, events)
    if events:
        await user_records.refresh(session, account_id, [m.id for m, *_ in events])
    return counts


def _changes(m: Member, r: MemberRecord, now: int) -> list[tuple[str, int, str | None, str | None]]:
    changes: list[tuple[str, int, str | None, str | None]] = []
    if r.role != m.role and not r.is_removed:
        changes.append(("role_changed", now, m.role, r.role))
    if r.is_removed != m.is_removed:
        kind = "removed" if r.is_removed else "restored"
        changes.append((kind, now, m.role, r.role))
    return changes


async def _record_events(
    session: AsyncSession,
    account_id: str,
    events: list[_Event],
) -> None:
    if not events:
        return
    await session.flush()  # new members get their ids
    await session.execute(
        insert(MemberEvent),
        [
            {
                "account_id": account_id,
                "member_id": m.id,
                "kind": kind,
                "at": at,
                "role_before": before,
                "role_after": after,
            }
            for m, kind, at, before, after in events
        ],
    )


def _member_changed(m: Member, r: MemberRecord) -> bool:
    return (m.email, m.name, m.role, m.is_removed, m.numeric_id, m.joined_at) != (
        r.email,
        r.name,
        r.role,
        r.is_removed,
        r.numeric_id if r.numeric_id is not None else m.numeric_id,
        r.joined_at_ms if r.joined_at_ms is not None else m.joined_at,
    )


def _apply_member(m: Member, r: MemberRecord, now: int) -> None:
    if r.is_removed and not m.is_removed:
        # Cursor does not say when; the audit log may tell later (see attribution.py).
        m.removed_at = now
        m.removal_source = "observed"
    elif not r.is_removed:
        m.removed_at = None
        m.removal_source = None
    m.email, m.name, m.role, m.is_removed = r.email, r.name, r.role, r.is_removed
    if r.numeric_id is not None:
        m.numeric_id = r.numeric_id
    if r.joined_at_ms is not None:
        m.joined_at = r.joined_at_ms
    m.raw = r.raw
    m.last_seen_at = m.updated_at = now


async def _record_identities(
    session: AsyncSession,
    account_id: str,
    records: Sequence[MemberRecord],
    members: dict[str, Member],
    now: int,
) -> None:
    known = {
        (member_id, key): identity_id
        for member_id, key, identity_id in (
            await session.execute(
                select(
                    MemberIdentity.member_id, MemberIdentity.identity_key, MemberIdentity.id
                ).where(MemberIdentity.account_id == account_id)
            )
        )
    }
    fresh, seen = [], []
    for r in records:
        member = members[r.remote_id]
        key = f"{r.email}|{r.numeric_id if r.numeric_id is not None else ''}|{r.name or ''}"
        identity_id = known.get((member.id, key))
        if identity_id is not None:
            seen.append({"id": identity_id, "last_seen_at": now})
            continue
        fresh.append(
            {
                "account_id": account_id,
                "member_id": member.id,
                "identity_key": key,
                "email": r.email,
                "numeric_id": r.numeric_id,
                "name": r.name,
                "first_seen_at": now,
                "last_seen_at": now,
            }
        )
    if fresh:
        await session.execute(insert(MemberIdentity).execution_options(render_nulls=True), fresh)
    if seen:
        await session.execute(update(MemberIdentity), seen)


_USAGE_METRICS = (
    "requests", "cost_cents_e6", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens",
)  # fmt: skip


async def refresh_last_activity(session: AsyncSession, account_id: str) -> None:
    """Keep every member's latest activity: their newest timestamped record (a vendor with
    events), and the newest day their usage facts show activity on (active that day, or a
    detail fact with usage). Readers take the first, else the second, from ``members``.

    One correlated MAX per member lets the (account, member or email, time) indexes answer
    each with a single probe."""
    e, f = UsageEvent, UsageFact
    newest_event = (
        select(func.max(e.timestamp_ms))
        .where(e.account_id == Member.account_id, e.member_id == Member.id)
        .scalar_subquery()
    )
    used = or_(*[func.coalesce(getattr(f, name), 0) > 0 for name in _USAGE_METRICS])
    newest_day = (
        select(func.max(f.day))
        .where(f.account_id == Member.account_id, f.user_email == Member.email)
        .where(or_(f.is_active.is_(True), and_(f.is_day_total.is_(False), used)))
        .scalar_subquery()
    )
    await session.execute(
        update(Member)
        .where(Member.account_id == account_id)
        .values(last_activity_at=newest_event, last_active_day=newest_day)
        .execution_options(synchronize_session=False)
    )
    await user_records.refresh(session, account_id)
