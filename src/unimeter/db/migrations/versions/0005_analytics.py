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
    _create_user_days()
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


def _create_user_days() -> None:
    op.create_table(
        "user_day_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in _USER_DAY_SUMS],
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_user_day_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_day_rollups")),
        sa.UniqueConstraint(
            "account_id", "day", "user_email",
            name=op.f("uq_user_day_rollups_account_id_day_user_email"),
        ),
    )  # fmt: skip
    op.create_index(
        "ix_user_day_rollups_account_user_day",
        "user_day_rollups",
        ["account_id", "user_email", "day"],
    )
    # Existing stores: sum the usage rollups they already hold.
    sums = ", ".join(f"SUM({name})" for name in _USER_DAY_SUMS[:-1])
    op.execute(
        "INSERT INTO user_day_rollups (account_id, day, user_email, events, "
        f"{', '.join(_USER_DAY_SUMS)}) SELECT account_id, day, user_email, SUM(events), "
        f"{sums}, SUM(CASE WHEN surface <> 'ide' THEN charged_cents_e6 ELSE 0 END) "
        "FROM usage_rollups GROUP BY account_id, day, user_email"
    )


_USER_DAY_SUMS = (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6", "headless_cents_e6",
)  # fmt: skip


def downgrade() -> None:
    op.drop_table("user_day_rollups")
    op.drop_index("ix_usage_events_account_after_removal", "usage_events")
    op.drop_index("ix_daily_usage_account_active_member", "daily_usage")
    op.drop_table("anomalies")
    op.drop_table("directory_entries")
    op.drop_table("analytics_settings")
