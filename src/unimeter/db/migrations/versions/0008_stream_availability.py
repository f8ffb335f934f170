"""Stream availability: whether the vendor offers each stream to an account (plan gates)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("availability", sa.String(20), nullable=True))
        batch.add_column(sa.Column("unavailable_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("checked_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("checked_at")
        batch.drop_column("unavailable_reason")
        batch.drop_column("availability")
