"""Commit rollups: commits summed per (account, lowercased author email, day)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05

A usage page's ``committed`` group summed every commit its people made on its days (about
350 for a page of 100 people-days on a 1,000-person team): a tenth of the page. The sync
keeps ``commit_days`` in the transaction that writes commits; this migration fills it from
the commits already stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commit_days",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("commits", sa.Integer(), nullable=False),
        sa.Column("lines_added", sa.BigInteger(), nullable=False),
        sa.Column("completion_lines_added", sa.BigInteger(), nullable=False),
        sa.Column("agent_lines_added", sa.BigInteger(), nullable=False),
        sa.Column("human_lines_added", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_commit_days_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "user_email", "day", name=op.f("pk_commit_days")),
    )
    op.execute(
        "INSERT INTO commit_days (account_id, user_email, day, commits, lines_added,"
        " completion_lines_added, agent_lines_added, human_lines_added)"
        " SELECT account_id, lower(user_email), day, COUNT(*), SUM(lines_added),"
        " SUM(completion_lines_added), SUM(agent_lines_added), SUM(human_lines_added)"
        " FROM commits GROUP BY account_id, lower(user_email), day"
    )


def downgrade() -> None:
    op.drop_table("commit_days")
