"""Actors, member events, join times and fact sources: what a second vendor reports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

- ``actors``: API keys and service accounts usage is attributed to, to label it;
- ``member_events``: members added, role changed, removed, restored, as syncs see them (the
  identity history of a vendor without an audit log);
- ``members.joined_at``: when the vendor says a member joined;
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
    with op.batch_alter_table("usage_facts") as batch:
        batch.add_column(sa.Column("sources", _json(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage_facts") as batch:
        batch.drop_column("sources")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("joined_at")
    op.drop_index("ix_member_events_account_at", table_name="member_events")
    op.drop_table("member_events")
    op.drop_table("actors")
