"""Environments (our users' isolated workspaces) and integrated accounts (linked teams)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, now_ms


class Environment(Base):
    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class IntegratedAccount(Base):
    """A customer's linked Cursor team. ``credentials`` only ever holds ciphertext."""

    __tablename__ = "integrated_accounts"
    __table_args__ = (
        Index("ix_integrated_accounts_env_created", "environment_id", "created_at", "id"),
        Index("ix_integrated_accounts_env_tenant", "environment_id", "tenant_id"),
        # The scheduler's scan: active accounts whose next sync is due.
        Index("ix_integrated_accounts_due", "status", "next_sync_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="active")
    base_url: Mapped[str] = mapped_column(String(500))
    credentials: Mapped[str] = mapped_column(Text)
    # Per-account tuning (cadence, lookbacks, seat price); documented where it is read.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_synced_at: Mapped[int | None] = mapped_column(BigInteger)
    # Scheduled sync cadence; NULL means on demand only. No column default: with one, the
    # ORM would store it in place of an explicit None (the default lives in LinkRequest).
    sync_frequency_minutes: Mapped[int | None] = mapped_column(Integer)
    # When the scheduler next syncs the account (NULL: not scheduled).
    next_sync_at: Mapped[int | None] = mapped_column(BigInteger)
    # Bumped with every change to the account's synced data; response caches key on it.
    data_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class Keyring(Base):
    """A verifier of the master key, so a wrong or missing key is refused at start-up."""

    __tablename__ = "keyring"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(20))
    check: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    rotated_at: Mapped[int | None] = mapped_column(BigInteger)
