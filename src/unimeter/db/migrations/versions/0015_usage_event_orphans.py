"""Usage events without an owner, indexed

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04

Attribution looks, after every sync, for the events whose email the vendor blanked (a removed
member's): by conversation, by day, and counts them. Without an index each of those reads
scanned every event of the account, on every run, hourly ones included. A partial index
holds only those few rows, so it costs the bulk of the events nothing on insert.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_WHERE = sa.text("email IS NULL")


_COLUMNS = ("conversation_id", "day")


def upgrade() -> None:
    for column in _COLUMNS:
        op.create_index(
            f"ix_usage_events_account_orphans_{column}",
            "usage_events",
            ["account_id", column],
            sqlite_where=_WHERE,
            postgresql_where=_WHERE,
        )


def downgrade() -> None:
    for column in _COLUMNS:
        op.drop_index(f"ix_usage_events_account_orphans_{column}", table_name="usage_events")
