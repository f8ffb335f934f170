"""Sync runs, per-stream state and the per-account lock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, JSONType, now_ms

_ACCOUNT_FK = "integrated_accounts.id"


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_account_created", "account_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    # queued, running, succeeded, failed
    status: Mapped[str] = mapped_column(String(20), default="queued")
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    since_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The schedule slot a scheduled run serves (NULL for other triggers).
    scheduled_for: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    started_at: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    waited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Per stream: inserted, updated, unchanged, requests, retries, rate_limited, seconds, ...
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class SyncState(Base):
    """How far a stream of an account is synced, and how far back Cursor had data."""

    __tablename__ = "sync_state"

    account_id: Mapped[str] = mapped_column(
        ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Everything up to this time (inclusive) has been committed.
    watermark_ms: Mapped[int | None] = mapped_column(BigInteger)
    # The oldest time Cursor still returned data when the stream was first synced.
    floor_ms: Mapped[int | None] = mapped_column(BigInteger)
    # When the last deep re-read (settlement of late cost adjustments) finished.
    settled_at: Mapped[int | None] = mapped_column(BigInteger)
    # ``available`` or ``unavailable`` (the vendor refused it: the plan lacks it); NULL until
    # the stream was first tried. ``checked_at`` is when that was last learned.
    availability: Mapped[str | None] = mapped_column(String(20))
    unavailable_reason: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[int | None] = mapped_column(BigInteger)
    # What the connector's source keeps between runs (``RememberingSource``), saved with
    # the watermark.
    memory: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class SyncLock(Base):
    """At most one sync per account: a lease renewed by heartbeats, taken over when stale."""

    __tablename__ = "sync_locks"

    account_id: Mapped[str] = mapped_column(
        ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[str] = mapped_column(String(40))
    holder: Mapped[str] = mapped_column(Text)
    acquired_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    heartbeat_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
