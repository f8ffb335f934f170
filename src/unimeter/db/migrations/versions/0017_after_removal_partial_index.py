"""Events after a removal, indexed by a partial index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05

The provisioning audit looks for the few events recorded after their member's removal. The
full index on ``(account_id, after_removal, member_id)`` held an entry for every event, and
every insert of a backfill paid for it (a sixth of SQLite's insert time at 100 k events). A
partial index holds only the flagged rows: the same reads, nothing to maintain for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "ix_usage_events_account_after_removal"
_NEW = "ix_usage_events_account_removed_member"


def upgrade() -> None:
    op.drop_index(_OLD, table_name="usage_events")
    op.create_index(
        _NEW,
        "usage_events",
        ["account_id", "member_id"],
        sqlite_where=sa.text("after_removal IS 1"),
        postgresql_where=sa.text("after_removal IS TRUE"),
    )


def downgrade() -> None:
    op.drop_index(_NEW, table_name="usage_events")
    op.create_index(_OLD, "usage_events", ["account_id", "after_removal", "member_id"])
