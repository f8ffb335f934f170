"""Stored usage records: the sync's part of each default-grain usage record, rendered

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06

A usage page at the default (user, day) grain of a vendor with one product rendered every
record's usage groups, charges and id on each request: most of the page's time. The sync
now renders them once into ``usage_day_records`` when it rebuilds a day's rollups. The
table starts empty: an account's next sync renders every record it lacks (rendering needs
the account's connector, which a migration does not load), and until then pages render
them as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_day_records",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_day_records_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_id", "day", "user_email", name=op.f("pk_usage_day_records")
        ),
    )


def downgrade() -> None:
    op.drop_table("usage_day_records")
