"""Actors, member events, join times and fact sources: what a second vendor reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

- ``actors``: API keys and service accounts usage is attributed to, to label it;
- ``member_events``: members added, role changed, removed, restored, as syncs see them (the
  identity history of a vendor without an audit log);
- ``members.joined_at``: when the vendor says a member joined;
- ``members.last_activity_at`` / ``last_active_day``: their latest activity, kept by every
  sync (backfilled here from the events and facts), so readers need no vendor raw table;
- ``usage_facts.sources``: the vendor rows behind a fact, for ``remote_data``, when the
  vendor keeps no raw table of its own.

Nothing is backfilled: existing members get events from their next change on, and existing
facts keep their remote data in the vendor's raw tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Frozen here (not imported): a migration must not change when the code does.
LAST_ACTIVITY_SQL = """
UPDATE members SET
  last_activity_at = (
    SELECT max(e.timestamp_ms) FROM usage_events e
    WHERE e.account_id = members.account_id AND e.member_id = members.id
  ),
  last_active_day = (
    SELECT max(f.day) FROM usage_facts f
    WHERE f.account_id = members.account_id AND f.user_email = members.email
      AND (f.is_active = TRUE OR (f.is_day_total = FALSE AND (
        coalesce(f.requests, 0) > 0 OR coalesce(f.cost_cents_e6, 0) > 0
        OR coalesce(f.input_tokens, 0) > 0 OR coalesce(f.output_tokens, 0) > 0
        OR coalesce(f.cache_read_tokens, 0) > 0 OR coalesce(f.cache_write_tokens, 0) > 0)))
  )
"""

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "actors",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "account_id",
            sa.String(40),
            sa.ForeignKey("integrated_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("remote_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("status", sa.String(40)),
        sa.Column("workspace_id", sa.String(200)),
        sa.Column("created_at", sa.BigInteger()),
        sa.Column("created_by", sa.String(200)),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("raw", _json(), nullable=False),
        sa.UniqueConstraint("account_id", "remote_id"),
    )
    op.create_table(
        "member_events",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "account_id",
            sa.String(40),
            sa.ForeignKey("integrated_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "member_id",
            BIG_ID,
            sa.ForeignKey("members.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("role_before", sa.String(40)),
        sa.Column("role_after", sa.String(40)),
    )
    op.create_index("ix_member_events_account_at", "member_events", ["account_id", "at"])
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("joined_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_activity_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_active_day", sa.Date(), nullable=True))
    with op.batch_alter_table("usage_facts") as batch:
        batch.add_column(sa.Column("sources", _json(), nullable=True))
    # Latest activity as the unified users read it before this revision (newest event,
    # else newest active fact day); every sync keeps it from now on.
    op.execute(LAST_ACTIVITY_SQL)


def downgrade() -> None:
    with op.batch_alter_table("usage_facts") as batch:
        batch.drop_column("sources")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("last_active_day")
        batch.drop_column("last_activity_at")
        batch.drop_column("joined_at")
    op.drop_index("ix_member_events_account_at", table_name="member_events")
    op.drop_table("member_events")
    op.drop_table("actors")
