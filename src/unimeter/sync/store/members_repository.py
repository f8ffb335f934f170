"""SQL for members and their identity history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import (
    MemberRecord,
)
from unimeter.db.base import now_ms
from unimeter.db.models import (
    Member,
    MemberIdentity,
)
from unimeter.sync.store.counts import Counts

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
    for r in records:
        m = existing.get(r.remote_id)
        if m is None:
            m = Member(account_id=account_id, remote_id=r.remote_id, first_seen_at=now)
            _apply_member(m, r, now)
            session.add(m)
            counts.inserted += 1
        elif _member_changed(m, r):
            _apply_member(m, r, now)
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
    return counts


def _member_changed(m: Member, r: MemberRecord) -> bool:
    return (m.email, m.name, m.role, m.is_removed, m.numeric_id) != (
        r.email,
        r.name,
        r.role,
        r.is_removed,
        r.numeric_id if r.numeric_id is not None else m.numeric_id,
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
