"""What the analyses need and Cursor does not have: seat prices, allowed admins, thresholds, a directory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK, JSONType, now_ms


class AnalyticsSettings(Base):
    __tablename__ = "analytics_settings"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # Monthly price of one seat, in cents * 10**6; unknown until someone sets it.
    seat_price_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    # Everything else, validated by the analytics settings schema: the allowed admins, and
    # anomaly thresholds that differ from the documented defaults.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class DirectoryEntry(Base):
    """One line of an uploaded directory: who belonged to which team and cost center, and
    when. An upload replaces the account's whole directory."""

    __tablename__ = "directory_entries"
    __table_args__ = (Index("ix_directory_entries_account_email", "account_id", "email"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    line: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    team: Mapped[str | None] = mapped_column(String(255))
    cost_center: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)  # last day, inclusive
    # The person's other emails (lower case), as used in other vendors' workspaces.
    aliases: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    uploaded_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


class Anomaly(Base):
    """Usage that deviated from its baseline: one per (account, kind, user, day, subject),
    so detecting it again after every sync neither duplicates it nor announces it twice."""

    __tablename__ = "anomalies"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "user_email", "day", "subject"),
        Index("ix_anomalies_account_detected", "account_id", "detected_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    user_email: Mapped[str] = mapped_column(String(320))
    day: Mapped[dt.date] = mapped_column(Date)
    # What the signal is about beyond user and day (the model, for a new expensive model).
    subject: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    # The measured value, the baseline and the thresholds that made it an anomaly.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Fingerprints of the costliest events behind it.
    event_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    detected_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
