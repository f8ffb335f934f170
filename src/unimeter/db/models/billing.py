"""Spend snapshots, billing groups with effective-dated membership, and audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK, now_ms

_ACCOUNT_FK = "integrated_accounts.id"


class SpendSnapshot(Base):
    """One read of ``/teams/spend`` per sync, kept forever: Cursor only shows the current cycle."""

    __tablename__ = "spend_snapshots"
    __table_args__ = (Index("ix_spend_snapshots_account_taken", "account_id", "taken_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    sync_run_id: Mapped[str | None] = mapped_column(String(40))
    taken_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    cycle_start_ms: Mapped[int | None] = mapped_column(BigInteger)
    total_members: Mapped[int] = mapped_column(Integer, default=0)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SpendSnapshotMember(Base):
    __tablename__ = "spend_snapshot_members"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("spend_snapshots.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), index=True)
    remote_id: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(40))
    on_demand_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    overall_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    premium_requests: Mapped[int] = mapped_column(Integer, default=0)
    hard_limit_override_dollars: Mapped[int | None] = mapped_column(Integer)
    monthly_limit_dollars: Mapped[int | None] = mapped_column(Integer)
    effective_limit_dollars: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BillingGroup(Base):
    __tablename__ = "billing_groups"
    __table_args__ = (UniqueConstraint("account_id", "remote_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str | None] = mapped_column(String(40))
    directory_group_id: Mapped[str | None] = mapped_column(String(100))
    remote_created_at: Mapped[int | None] = mapped_column(BigInteger)
    remote_updated_at: Mapped[int | None] = mapped_column(BigInteger)
    # Set when a group stops appearing upstream; its history stays.
    deleted_at: Mapped[int | None] = mapped_column(BigInteger)
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GroupMembership(Base):
    """A member's stint in a billing group: ``[joined_at, left_at)``, open when ``left_at`` is NULL."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        UniqueConstraint("account_id", "group_remote_id", "member_remote_id", "joined_at"),
        Index("ix_group_memberships_account_member", "account_id", "member_remote_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    group_remote_id: Mapped[str] = mapped_column(String(100))
    member_remote_id: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    joined_at: Mapped[int] = mapped_column(BigInteger)
    left_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class GroupDailySpend(Base):
    __tablename__ = "group_daily_spend"
    __table_args__ = (UniqueConstraint("account_id", "group_remote_id", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    group_remote_id: Mapped[str] = mapped_column(String(100))
    day: Mapped[dt.date] = mapped_column(Date)
    spend_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("account_id", "remote_id"),
        Index("ix_audit_events_account_ts", "account_id", "timestamp_ms"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    remote_id: Mapped[str] = mapped_column(String(100))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(80))
    user_email: Mapped[str | None] = mapped_column(String(320))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    application_type: Mapped[str | None] = mapped_column(String(40))
    event_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The connector's neutral reading of ``event_type`` (records.MEMBER_REMOVED, …) and the
    # member it was done to: what attribution reads, whatever the vendor calls it.
    action: Mapped[str | None] = mapped_column(String(40))
    subject_email: Mapped[str | None] = mapped_column(String(320))
