"""Notification channels (Slack, e-mail) and their outbox of deliveries.

A delivery row is written in the same transaction as the event it reports (or, for the
weekly digest, once per channel and week: ``dedupe_key``), and marked sent in the step that
records the send. ``secret`` only ever holds ciphertext: a Slack webhook URL or an SMTP
password.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, JSONType, now_ms


class NotificationChannel(Base):
    __tablename__ = "notification_channels"
    __table_args__ = (
        Index("ix_notification_channels_env_created", "environment_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    environment_id: Mapped[str] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # slack or email
    kind: Mapped[str] = mapped_column(String(20))
    # What is not secret: SMTP host, port, user, sender, recipients, security.
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Ciphertext of the Slack webhook URL or the SMTP password (none: SMTP without login).
    secret: Mapped[str | None] = mapped_column(Text)
    # What the API shows of the secret: never enough to use it.
    secret_hint: Mapped[str | None] = mapped_column(String(120))
    # Subscribed topics: anomaly, needs_reauth, sync_failed, digest.
    topics: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Anomalies whose excess cost is below this are not sent (cents * 10**6).
    min_anomaly_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)


class NotificationDelivery(Base):
    """One message for one channel; ``payload`` is what it is rendered from at send time."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        # The dispatcher's scan: pending deliveries that are due.
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
        Index("ix_notification_deliveries_channel_created", "channel_id", "created_at", "id"),
        # Acknowledging an anomaly cancels what is still queued about it.
        Index("ix_notification_deliveries_subject", "subject"),
        # Once per channel and key (a digest's week, an anomaly): NULL keys never collide.
        UniqueConstraint("channel_id", "dedupe_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel_id: Mapped[str] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    # anomaly, needs_reauth, sync_failed, digest, test
    topic: Mapped[str] = mapped_column(String(40))
    # What the message is about (an anomaly, an account, a run), when it is one thing.
    subject: Mapped[str | None] = mapped_column(String(120))
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # pending, sent, failed, cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    # A dispatcher that claimed the delivery owns it until then (a crashed one lets go).
    claimed_until: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
