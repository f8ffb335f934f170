"""SQL for spend snapshots, billing groups with their membership history, and audit events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import (
    AuditEventRecord,
    GroupsRecord,
    SpendSnapshotRecord,
)
from unimeter.db import user_records
from unimeter.db.base import now_ms
from unimeter.db.models import (
    AuditEvent,
    BillingGroup,
    GroupDailySpend,
    GroupMembership,
    Member,
    SpendSnapshot,
    SpendSnapshotMember,
)
from unimeter.sync.store.counts import Counts, chunks

# -- spend, groups, audit -------------------------------------------------------------------


async def insert_spend_snapshot(
    session: AsyncSession, account_id: str, run_id: str | None, snapshot: SpendSnapshotRecord
) -> Counts:
    row = SpendSnapshot(
        account_id=account_id,
        sync_run_id=run_id,
        cycle_start_ms=snapshot.cycle_start_ms,
        total_members=snapshot.total_members,
        meta=snapshot.meta,
    )
    session.add(row)
    await session.flush()
    members = [
        {
            "snapshot_id": row.id,
            "account_id": account_id,
            "remote_id": m.remote_id,
            "email": m.email,
            "name": m.name,
            "role": m.role,
            "on_demand_cents_e6": m.on_demand_cents_e6,
            "overall_cents_e6": m.overall_cents_e6,
            "premium_requests": m.premium_requests,
            "hard_limit_override_dollars": m.hard_limit_override_dollars,
            "monthly_limit_dollars": m.monthly_limit_dollars,
            "effective_limit_dollars": m.effective_limit_dollars,
            "raw": m.raw,
        }
        for m in snapshot.members
    ]
    for chunk in chunks(members):
        await session.execute(
            insert(SpendSnapshotMember).execution_options(render_nulls=True), list(chunk)
        )
    await _keep_spend_limits(session, account_id, row.id)
    return Counts(inserted=len(members))


async def _keep_spend_limits(session: AsyncSession, account_id: str, snapshot_id: int) -> None:
    """Every member's limit as this (the latest) read says: readers need no snapshot."""
    s = SpendSnapshotMember
    limit = (
        select(func.max(s.effective_limit_dollars))
        .where(s.snapshot_id == snapshot_id, s.email == Member.email)
        .scalar_subquery()
    )
    await session.execute(
        update(Member)
        .where(Member.account_id == account_id)
        .values(spend_limit_dollars=limit)
        .execution_options(synchronize_session=False)
    )
    await user_records.refresh(session, account_id)


async def upsert_groups(session: AsyncSession, account_id: str, record: GroupsRecord) -> Counts:
    counts = Counts()
    now = now_ms()
    groups = {
        g.remote_id: g
        for g in (
            await session.scalars(select(BillingGroup).where(BillingGroup.account_id == account_id))
        ).all()
    }
    for r in record.groups:
        g = groups.get(r.remote_id)
        if g is None:
            session.add(
                BillingGroup(
                    account_id=account_id,
                    remote_id=r.remote_id,
                    name=r.name,
                    type=r.type,
                    directory_group_id=r.directory_group_id,
                    remote_created_at=r.remote_created_at,
                    remote_updated_at=r.remote_updated_at,
                    raw=r.raw,
                    first_seen_at=now,
                    updated_at=now,
                )
            )
            counts.inserted += 1
            continue
        # Views of past billing cycles show older update times: only ever move forward.
        updated_at = max(filter(None, (g.remote_updated_at, r.remote_updated_at)), default=None)
        values = (r.name, r.type, r.directory_group_id, r.remote_created_at, updated_at)
        if (
            g.name,
            g.type,
            g.directory_group_id,
            g.remote_created_at,
            g.remote_updated_at,
        ) != values:
            g.name, g.type, g.directory_group_id = r.name, r.type, r.directory_group_id
            g.remote_created_at, g.remote_updated_at = r.remote_created_at, updated_at
            g.raw, g.updated_at, g.deleted_at = r.raw, now, None
            counts.updated += 1
        else:
            counts.unchanged += 1
    counts.add(await _upsert_memberships(session, account_id, record, now))
    counts.add(await _upsert_group_spend(session, account_id, record, now))
    return counts


async def _upsert_memberships(
    session: AsyncSession, account_id: str, record: GroupsRecord, now: int
) -> Counts:
    counts = Counts()
    stored = {
        (m.group_remote_id, m.member_remote_id, m.joined_at): m
        for m in (
            await session.scalars(
                select(GroupMembership).where(GroupMembership.account_id == account_id)
            )
        ).all()
    }
    for r in record.memberships:
        m = stored.get((r.group_remote_id, r.member_remote_id, r.joined_at))
        if m is None:
            m = GroupMembership(
                account_id=account_id, group_remote_id=r.group_remote_id,
                member_remote_id=r.member_remote_id, email=r.email, name=r.name,
                joined_at=r.joined_at, left_at=r.left_at, updated_at=now,
            )  # fmt: skip
            session.add(m)
            stored[(r.group_remote_id, r.member_remote_id, r.joined_at)] = m
            counts.inserted += 1
        elif r.left_at is not None and m.left_at != r.left_at:
            # A stint never reopens (a return is a new stint): a past cycle's view that still
            # shows the member as current must not erase a known departure.
            m.left_at, m.updated_at = r.left_at, now
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


async def _upsert_group_spend(
    session: AsyncSession, account_id: str, record: GroupsRecord, now: int
) -> Counts:
    counts = Counts()
    if not record.daily_spend:
        return counts
    days = {r.day for r in record.daily_spend}
    stored = {
        (s.group_remote_id, s.day): s
        for s in (
            await session.scalars(
                select(GroupDailySpend)
                .where(GroupDailySpend.account_id == account_id)
                .where(GroupDailySpend.day.in_(days))
            )
        ).all()
    }
    for r in record.daily_spend:
        s = stored.get((r.group_remote_id, r.day))
        if s is None:
            session.add(
                GroupDailySpend(
                    account_id=account_id,
                    group_remote_id=r.group_remote_id,
                    day=r.day,
                    spend_cents_e6=r.spend_cents_e6,
                    updated_at=now,
                )
            )
            counts.inserted += 1
        elif s.spend_cents_e6 != r.spend_cents_e6:
            s.spend_cents_e6, s.updated_at = r.spend_cents_e6, now
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


async def insert_audit_events(
    session: AsyncSession, account_id: str, records: Sequence[AuditEventRecord]
) -> Counts:
    counts = Counts()
    now = now_ms()
    for chunk in chunks(records):
        ids = [r.remote_id for r in chunk]
        known = set(
            (
                await session.scalars(
                    select(AuditEvent.remote_id)
                    .where(AuditEvent.account_id == account_id)
                    .where(AuditEvent.remote_id.in_(ids))
                )
            ).all()
        )
        fresh = {}
        for r in chunk:
            if r.remote_id in known or r.remote_id in fresh:
                continue
            fresh[r.remote_id] = {
                "account_id": account_id, "remote_id": r.remote_id, "timestamp_ms": r.timestamp_ms,
                "event_type": r.event_type, "user_email": r.user_email, "ip_address": r.ip_address,
                "application_type": r.application_type, "event_data": r.event_data, "raw": r.raw,
                "action": r.action, "subject_email": r.subject_email, "first_seen_at": now,
            }  # fmt: skip
        if fresh:
            await session.execute(
                insert(AuditEvent).execution_options(render_nulls=True), list(fresh.values())
            )
        counts.inserted += len(fresh)
        counts.unchanged += len(chunk) - len(fresh)
    return counts
