"""Unified API page indexes: members by id, commits and agent runs by lowercased email

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

The users page walks an account's members in id order (its keyset). With only the
``(account_id, email)`` index, every page read all of the account's members and sorted
them to keep 101; an index in page order reads the page's rows alone.

A usage page sums its users' commits, matched by lowercased email. The index on the email
as stored cannot serve that, so each page read every user's commits of its days (1.7 ms
of a 1,000-member team's page; 0.6 ms by this index). Agent runs are counted the same way
(0.33 -> 0.05 ms).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEMBERS = "ix_members_account_id_order"
_COMMITS = "ix_commits_account_lower_user_committed"
_RUNS = "ix_agent_runs_account_lower_user_created"


def upgrade() -> None:
    op.create_index(_MEMBERS, "members", ["account_id", "id"])
    op.create_index(
        _COMMITS, "commits", ["account_id", sa.text("lower(user_email)"), "committed_at"]
    )
    op.create_index(_RUNS, "agent_runs", ["account_id", sa.text("lower(user_email)"), "created_at"])


def downgrade() -> None:
    op.drop_index(_RUNS, table_name="agent_runs")
    op.drop_index(_COMMITS, table_name="commits")
    op.drop_index(_MEMBERS, table_name="members")
