"""API tokens, usage rollups, and neutral charge type / surface on usage events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("environment_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_api_tokens_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_environment_id"), "api_tokens", ["environment_id"])

    counters = [
        "events", "included_events", "usage_based_events", "api_key_events", "errored_events",
        "max_mode_events",
    ]  # fmt: skip
    amounts = [
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6", "token_fee_cents_e6",
        "request_units_e6",
    ]  # fmt: skip
    op.create_table(
        "usage_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("surface", sa.String(40), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in counters],
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in amounts],
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_rollups")),
        sa.UniqueConstraint(
            "account_id",
            "day",
            "user_email",
            "model",
            "surface",
            name=op.f("uq_usage_rollups_account_id"),
        ),
    )
    op.create_index(
        "ix_usage_rollups_account_user_day", "usage_rollups", ["account_id", "user_email", "day"]
    )

    op.create_table(
        "rollup_dirty_days",
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_rollup_dirty_days_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_rollup_dirty_days")),
    )

    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(
            sa.Column("charge_type", sa.String(20), nullable=False, server_default="included")
        )
        batch.add_column(sa.Column("surface", sa.String(40), nullable=False, server_default="ide"))
    # Classify rows stored before these columns existed, as the connector does now.
    op.execute(
        """
        UPDATE usage_events SET charge_type = CASE
            WHEN lower(kind) LIKE '%not charged%' OR lower(kind) LIKE 'errored%'
                 OR lower(kind) LIKE 'aborted%' THEN 'errored'
            WHEN lower(kind) LIKE '%api key%' THEN 'api_key'
            WHEN lower(kind) LIKE 'usage-based%' OR lower(kind) LIKE 'on-demand%' THEN 'usage_based'
            WHEN lower(kind) LIKE 'included%' THEN 'included'
            WHEN is_chargeable THEN 'usage_based'
            ELSE 'included' END,
        surface = CASE
            WHEN cloud_agent_id IS NOT NULL THEN 'cloud_agent'
            WHEN automation_id IS NOT NULL THEN 'automation'
            WHEN service_account_id IS NOT NULL THEN 'service_account'
            WHEN is_headless THEN 'cli'
            ELSE 'ide' END
        """
    )


def downgrade() -> None:
    op.drop_table("rollup_dirty_days")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("surface")
        batch.drop_column("charge_type")
    op.drop_index("ix_usage_rollups_account_user_day", table_name="usage_rollups")
    op.drop_table("usage_rollups")
    op.drop_index(op.f("ix_api_tokens_environment_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
