"""Notification channels (Slack, e-mail) and their outbox

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Channels hold their secret (a Slack webhook URL, an SMTP password) encrypted. Deliveries
are queued in the transaction of the event they report; ``(channel_id, dedupe_key)`` is
unique so a weekly digest is queued once per channel and week, however many workers try.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("environment_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("secret_hint", sa.String(120), nullable=True),
        sa.Column("topics", JSON, nullable=False),
        sa.Column("min_anomaly_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_notification_channels_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channels")),
    )
    op.create_index(
        "ix_notification_channels_env_created",
        "notification_channels",
        ["environment_id", "created_at", "id"],
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(120), nullable=True),
        sa.Column("dedupe_key", sa.String(120), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channels.id"],
            name=op.f("fk_notification_deliveries_channel_id_notification_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "channel_id",
            "dedupe_key",
            name=op.f("uq_notification_deliveries_channel_id_dedupe_key"),
        ),
    )
    op.create_index(
        "ix_notification_deliveries_due", "notification_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_notification_deliveries_channel_created",
        "notification_deliveries",
        ["channel_id", "created_at", "id"],
    )
    op.create_index("ix_notification_deliveries_subject", "notification_deliveries", ["subject"])


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_channels")
