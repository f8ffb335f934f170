"""Data version per account (response caching) and a (day, email) index on daily usage

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("integrated_accounts") as batch:
        batch.add_column(
            sa.Column("data_version", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_daily_usage_account_day_email", "daily_usage", ["account_id", "day", "email"]
    )


def downgrade() -> None:
    op.drop_index("ix_daily_usage_account_day_email", table_name="daily_usage")
    with op.batch_alter_table("integrated_accounts") as batch:
        batch.drop_column("data_version")
