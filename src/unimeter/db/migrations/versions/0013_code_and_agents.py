"""What AI wrote and what agents ran: commits, AI changes, agent runs, activity counts;
usage after removal per member

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Vendor-neutral tables a connector fills from its vendor's code-tracking, agents and
analytics APIs (Cursor's Enterprise APIs first). And ``removal_usage``: usage recorded
after a member's removal, per member, which the provisioning audit reads instead of a
vendor's raw records; backfilled here from the flagged usage events. And
``members.spend_limit_dollars``, each member's limit from the latest spend read (the unified
users read it there), backfilled from the latest spend snapshot. And ``sync_state.memory``:
what a connector's source keeps per stream between runs (Cursor: its ETags).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _common(*columns: sa.Column[Any]) -> list[Any]:
    return [
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "account_id",
            sa.String(40),
            sa.ForeignKey("integrated_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        *columns,
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    ]


def _int(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "commits",
        *_common(
            sa.Column("key", sa.String(300), nullable=False),
            sa.Column("commit_id", sa.String(100), nullable=False),
            sa.Column("user_email", sa.String(320), nullable=False),
            sa.Column("repository", sa.String(300)),
            sa.Column("branch", sa.String(300)),
            sa.Column("is_primary_branch", sa.Boolean()),
            sa.Column("surface", sa.String(40), nullable=False),
            _int("committed_at"),
            sa.Column("day", sa.Date(), nullable=False),
            _int("lines_added"),
            _int("lines_deleted"),
            _int("completion_lines_added"),
            _int("completion_lines_deleted"),
            _int("agent_lines_added"),
            _int("agent_lines_deleted"),
            _int("human_lines_added", nullable=True),
            _int("human_lines_deleted", nullable=True),
            sa.Column("raw", _json(), nullable=False),
        ),
        sa.UniqueConstraint("account_id", "key"),
    )
    op.create_index("ix_commits_account_committed", "commits", ["account_id", "committed_at"])
    op.create_index(
        "ix_commits_account_user_committed", "commits", ["account_id", "user_email", "committed_at"]
    )
    op.create_table(
        "ai_changes",
        *_common(
            sa.Column("key", sa.String(300), nullable=False),
            sa.Column("user_email", sa.String(320), nullable=False),
            sa.Column("source", sa.String(20), nullable=False),
            sa.Column("model", sa.String(120)),
            _int("created_at"),
            sa.Column("day", sa.Date(), nullable=False),
            _int("lines_added"),
            _int("lines_deleted"),
            sa.Column("file_extensions", sa.Text(), nullable=False),
            sa.Column("raw", _json(), nullable=False),
        ),
        sa.UniqueConstraint("account_id", "key"),
    )
    op.create_index("ix_ai_changes_account_created", "ai_changes", ["account_id", "created_at"])
    op.create_table(
        "agent_runs",
        *_common(
            sa.Column("key", sa.String(200), nullable=False),
            sa.Column("agent_id", sa.String(200), nullable=False),
            sa.Column("user_email", sa.String(320)),
            sa.Column("name", sa.String(300)),
            sa.Column("status", sa.String(20), nullable=False),
            sa.Column("repository", sa.String(300)),
            sa.Column("branch", sa.String(300)),
            sa.Column("pull_request_url", sa.String(500)),
            _int("created_at"),
            sa.Column("day", sa.Date(), nullable=False),
            _int("duration_ms", nullable=True),
            _int("input_tokens", nullable=True),
            _int("output_tokens", nullable=True),
            _int("cache_read_tokens", nullable=True),
            _int("cache_write_tokens", nullable=True),
            _int("cost_cents_e6", nullable=True),
            sa.Column("raw", _json(), nullable=False),
        ),
        sa.UniqueConstraint("account_id", "key"),
    )
    op.create_index("ix_agent_runs_account_created", "agent_runs", ["account_id", "created_at"])
    op.create_table(
        "activity_counts",
        *_common(
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("user_email", sa.String(320), nullable=False),
            sa.Column("kind", sa.String(40), nullable=False),
            sa.Column("key", sa.String(300), nullable=False),
            _int("value"),
        ),
        sa.UniqueConstraint("account_id", "day", "user_email", "kind", "key"),
    )
    op.create_index(
        "ix_activity_counts_account_kind_day", "activity_counts", ["account_id", "kind", "day"]
    )

    op.create_table(
        "removal_usage",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "account_id",
            sa.String(40),
            sa.ForeignKey("integrated_accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("member_key", sa.String(40), nullable=False),
        _int("member_id", nullable=True),
        sa.Column("email", sa.String(320)),
        _int("records"),
        _int("charged_cents_e6"),
        _int("first_at"),
        _int("last_at"),
        sa.UniqueConstraint("account_id", "member_key"),
    )
    op.execute(REMOVAL_USAGE_SQL)
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("spend_limit_dollars", sa.BigInteger(), nullable=True))
    op.execute(SPEND_LIMITS_SQL)
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("memory", _json(), nullable=True))


# Frozen here (not imported): a migration must not change when the code does.
REMOVAL_USAGE_SQL = """
INSERT INTO removal_usage
  (account_id, member_key, member_id, email, records, charged_cents_e6, first_at, last_at)
SELECT account_id, coalesce(CAST(member_id AS VARCHAR(40)), ''), member_id, max(email),
       count(*), coalesce(sum(charged_cents_e6), 0), min(timestamp_ms), max(timestamp_ms)
FROM usage_events WHERE after_removal = TRUE
GROUP BY account_id, member_id
"""


SPEND_LIMITS_SQL = """
UPDATE members SET spend_limit_dollars = (
  SELECT max(m.effective_limit_dollars) FROM spend_snapshot_members m
  WHERE m.email = members.email AND m.snapshot_id = (
    SELECT s.id FROM spend_snapshots s WHERE s.account_id = members.account_id
    ORDER BY s.taken_at DESC, s.id DESC LIMIT 1
  )
)
"""


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("memory")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("spend_limit_dollars")
    op.drop_table("removal_usage")
    for table, index in (
        ("activity_counts", "ix_activity_counts_account_kind_day"),
        ("agent_runs", "ix_agent_runs_account_created"),
        ("ai_changes", "ix_ai_changes_account_created"),
    ):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
    op.drop_index("ix_commits_account_user_committed", table_name="commits")
    op.drop_index("ix_commits_account_committed", table_name="commits")
    op.drop_table("commits")
