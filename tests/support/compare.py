"""Comparing what a sync stored with the simulator's ground truth."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select

from unimeter.db.models import (
    AuditEvent,
    DailyUsage,
    GroupMembership,
    Member,
    SpendSnapshot,
    SpendSnapshotMember,
    UsageEvent,
)
from unimeter.runtime import Runtime


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True)


async def rows(runtime: Runtime, model: Any, account_id: str) -> list[Any]:
    async with runtime.db.reader() as session:
        return list(
            (await session.scalars(select(model).where(model.account_id == account_id))).all()
        )


async def assert_events_equal_truth(
    runtime: Runtime, account_id: str, truth_events: list[Any]
) -> list[UsageEvent]:
    """Every event stored once, with Cursor's current payload; emails never wrong."""
    stored = await rows(runtime, UsageEvent, account_id)
    assert len(stored) == len(truth_events), (len(stored), len(truth_events))
    assert Counter(canonical(e.raw) for e in stored) == Counter(
        canonical(t.payload) for t in truth_events
    )
    true_emails: dict[str, set[str]] = {}
    for t in truth_events:
        true_emails.setdefault(canonical(t.payload), set()).add(t.email)
    for e in stored:
        if e.email is not None:
            assert e.email in true_emails[canonical(e.raw)], (e.email, e.raw)
    return stored


async def assert_daily_equal_truth(
    runtime: Runtime, account_id: str, truth_rows: list[dict[str, Any]]
) -> None:
    stored = await rows(runtime, DailyUsage, account_id)
    assert Counter(canonical(d.raw) for d in stored) == Counter(canonical(r) for r in truth_rows)


async def assert_members_equal_truth(
    runtime: Runtime, account_id: str, truth_members: list[Any]
) -> None:
    stored = {m.remote_id: m for m in await rows(runtime, Member, account_id)}
    assert set(stored) == {t.user_id for t in truth_members}
    for t in truth_members:
        m = stored[t.user_id]
        assert (m.email, m.name, m.role, m.is_removed) == (
            t.email,
            t.name,
            t.role,
            t.removed_ms is not None,
        )


async def assert_memberships_equal_truth(
    runtime: Runtime, account_id: str, truth_members: list[Any], since_ms: int
) -> None:
    stored = {
        (g.group_remote_id, g.member_remote_id, g.joined_at, g.left_at)
        for g in await rows(runtime, GroupMembership, account_id)
        if g.group_remote_id != "group_unassigned"
    }
    expected = {
        (group, t.user_id, joined, left)
        for t in truth_members
        for group, joined, left in t.group_stints
        if left is None or left > since_ms
    }
    assert stored == expected


async def assert_latest_spend_equals_truth(
    runtime: Runtime, account_id: str, truth_spend: dict[str, Any]
) -> None:
    snapshots = await rows(runtime, SpendSnapshot, account_id)
    latest = max(snapshots, key=lambda s: (s.taken_at, s.id))
    members = [
        m
        for m in await rows(runtime, SpendSnapshotMember, account_id)
        if m.snapshot_id == latest.id
    ]
    assert latest.cycle_start_ms == truth_spend["subscriptionCycleStart"]
    assert Counter(canonical(m.raw) for m in members) == Counter(
        canonical(r) for r in truth_spend["teamMemberSpend"]
    )


async def audit_ids(runtime: Runtime, account_id: str) -> set[str]:
    return {a.remote_id for a in await rows(runtime, AuditEvent, account_id)}
