"""Analytics: per-account settings (seat price, admin allow-list, anomaly thresholds) and directory uploads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "analytics_settings",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("seat_price_cents_e6", sa.BigInteger(), nullable=True),
        sa.Column("options", JSON, nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_analytics_settings_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_analytics_settings")),
    )
    op.create_table(
        "directory_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("team", sa.String(255), nullable=True),
        sa.Column("cost_center", sa.String(255), nullable=True),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("uploaded_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_directory_entries_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_entries")),
    )
    op.create_index(
        "ix_directory_entries_account_email", "directory_entries", ["account_id", "email"]
    )
    _create_anomalies()
    op.create_index(
        "ix_daily_usage_account_active_member",
        "daily_usage",
        ["account_id", "is_active", "member_id", "email", "day"],
    )
    op.create_index(
        "ix_usage_events_account_after_removal",
        "usage_events",
        ["account_id", "after_removal", "member_id"],
    )


def _create_anomalies() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("event_ids", JSON, nullable=False),
        sa.Column("detected_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_anomalies_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
        sa.UniqueConstraint(
            "account_id", "kind", "user_email", "day", "subject",
            name=op.f("uq_anomalies_account_id_kind_user_email_day_subject"),
        ),
    )  # fmt: skip
    op.create_index(
        "ix_anomalies_account_detected", "anomalies", ["account_id", "detected_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_usage_events_account_after_removal", "usage_events")
    op.drop_index("ix_daily_usage_account_active_member", "daily_usage")
    op.drop_table("anomalies")
    op.drop_table("directory_entries")
    op.drop_table("analytics_settings")
