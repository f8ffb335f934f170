"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 09:03:34.954116
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "environments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("name", name=op.f("uq_environments_name")),
    )
    op.create_table(
        "keyring",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("key_id", sa.String(length=20), nullable=False),
        sa.Column("check", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("rotated_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyring")),
    )
    op.create_table(
        "integrated_accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("environment_id", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_synced_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_integrated_accounts_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrated_accounts")),
    )
    with op.batch_alter_table("integrated_accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_integrated_accounts_env_created",
            ["environment_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_integrated_accounts_env_tenant", ["environment_id", "tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_integrated_accounts_environment_id"), ["environment_id"], unique=False
        )

    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("application_type", sa.String(length=40), nullable=True),
        sa.Column(
            "event_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_audit_events_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint(
            "account_id", "remote_id", name=op.f("uq_audit_events_account_id_remote_id")
        ),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_events_account_ts", ["account_id", "timestamp_ms"], unique=False
        )

    op.create_table(
        "billing_groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=True),
        sa.Column("directory_group_id", sa.String(length=100), nullable=True),
        sa.Column("remote_created_at", sa.BigInteger(), nullable=True),
        sa.Column("remote_updated_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_billing_groups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_groups")),
        sa.UniqueConstraint(
            "account_id", "remote_id", name=op.f("uq_billing_groups_account_id_remote_id")
        ),
    )
    op.create_table(
        "daily_usage",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_key", sa.String(length=340), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("numeric_user_id", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("lines_added", sa.Integer(), nullable=False),
        sa.Column("lines_deleted", sa.Integer(), nullable=False),
        sa.Column("accepted_lines_added", sa.Integer(), nullable=False),
        sa.Column("accepted_lines_deleted", sa.Integer(), nullable=False),
        sa.Column("applies", sa.Integer(), nullable=False),
        sa.Column("accepts", sa.Integer(), nullable=False),
        sa.Column("rejects", sa.Integer(), nullable=False),
        sa.Column("tabs_shown", sa.Integer(), nullable=False),
        sa.Column("tabs_accepted", sa.Integer(), nullable=False),
        sa.Column("composer_requests", sa.Integer(), nullable=False),
        sa.Column("chat_requests", sa.Integer(), nullable=False),
        sa.Column("agent_requests", sa.Integer(), nullable=False),
        sa.Column("cmdk_requests", sa.Integer(), nullable=False),
        sa.Column("included_requests", sa.Integer(), nullable=False),
        sa.Column("usage_based_requests", sa.Integer(), nullable=False),
        sa.Column("api_key_requests", sa.Integer(), nullable=False),
        sa.Column("bugbot_requests", sa.Integer(), nullable=False),
        sa.Column("most_used_model", sa.String(length=120), nullable=True),
        sa.Column("apply_extension", sa.String(length=40), nullable=True),
        sa.Column("tab_extension", sa.String(length=40), nullable=True),
        sa.Column("client_version", sa.String(length=40), nullable=True),
        sa.Column("after_removal", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_daily_usage_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_usage")),
        sa.UniqueConstraint(
            "account_id", "day", "user_key", name=op.f("uq_daily_usage_account_id_day_user_key")
        ),
    )
    with op.batch_alter_table("daily_usage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_usage_account_member_day", ["account_id", "member_id", "day"], unique=False
        )

    op.create_table(
        "group_daily_spend",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("group_remote_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spend_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_group_daily_spend_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_daily_spend")),
        sa.UniqueConstraint(
            "account_id",
            "group_remote_id",
            "day",
            name=op.f("uq_group_daily_spend_account_id_group_remote_id_day"),
        ),
    )
    op.create_table(
        "group_memberships",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("group_remote_id", sa.String(length=100), nullable=False),
        sa.Column("member_remote_id", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("joined_at", sa.BigInteger(), nullable=False),
        sa.Column("left_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_group_memberships_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint(
            "account_id",
            "group_remote_id",
            "member_remote_id",
            "joined_at",
            name=op.f("uq_group_memberships_account_id_group_remote_id_member_remote_id_joined_at"),
        ),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_memberships_account_member", ["account_id", "member_remote_id"], unique=False
        )

    op.create_table(
        "members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=False),
        sa.Column("numeric_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("is_removed", sa.Boolean(), nullable=False),
        sa.Column("removed_at", sa.BigInteger(), nullable=True),
        sa.Column("removal_source", sa.String(length=20), nullable=True),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_members_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint(
            "account_id", "remote_id", name=op.f("uq_members_account_id_remote_id")
        ),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index("ix_members_account_email", ["account_id", "email"], unique=False)

    op.create_table(
        "spend_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("sync_run_id", sa.String(length=40), nullable=True),
        sa.Column("taken_at", sa.BigInteger(), nullable=False),
        sa.Column("cycle_start_ms", sa.BigInteger(), nullable=True),
        sa.Column("total_members", sa.Integer(), nullable=False),
        sa.Column(
            "meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_spend_snapshots_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_snapshots")),
    )
    with op.batch_alter_table("spend_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_spend_snapshots_account_taken", ["account_id", "taken_at"], unique=False
        )

    op.create_table(
        "sync_locks",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_sync_locks_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_sync_locks")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("rate_limited", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("waited_seconds", sa.Float(), nullable=False),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_sync_runs_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_runs_account_created", ["account_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "sync_state",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("watermark_ms", sa.BigInteger(), nullable=True),
        sa.Column("floor_ms", sa.BigInteger(), nullable=True),
        sa.Column("settled_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_sync_state_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "stream", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "usage_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("email_received", sa.String(length=320), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("member_id", sa.BigInteger(), nullable=True),
        sa.Column("attribution", sa.String(length=20), nullable=False),
        sa.Column("after_removal", sa.Boolean(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("max_mode", sa.Boolean(), nullable=False),
        sa.Column("is_token_based", sa.Boolean(), nullable=False),
        sa.Column("is_chargeable", sa.Boolean(), nullable=False),
        sa.Column("is_headless", sa.Boolean(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("token_cents_e6", sa.BigInteger(), nullable=True),
        sa.Column("token_fee_cents_e6", sa.BigInteger(), nullable=True),
        sa.Column("charged_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("request_units_e6", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.String(length=80), nullable=True),
        sa.Column("cloud_agent_id", sa.String(length=80), nullable=True),
        sa.Column("service_account_id", sa.String(length=80), nullable=True),
        sa.Column("automation_id", sa.String(length=80), nullable=True),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_events_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
        sa.UniqueConstraint(
            "account_id", "fingerprint", name=op.f("uq_usage_events_account_id_fingerprint")
        ),
    )
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_events_account_conversation", ["account_id", "conversation_id"], unique=False
        )
        batch_op.create_index(
            "ix_usage_events_account_member_ts",
            ["account_id", "member_id", "timestamp_ms"],
            unique=False,
        )
        batch_op.create_index(
            "ix_usage_events_account_ts", ["account_id", "timestamp_ms"], unique=False
        )

    op.create_table(
        "member_identities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column(
            "member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("identity_key", sa.String(length=700), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("numeric_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("first_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_member_identities_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_identities_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_identities")),
        sa.UniqueConstraint(
            "member_id", "identity_key", name=op.f("uq_member_identities_member_id_identity_key")
        ),
    )
    with op.batch_alter_table("member_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_identities_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "spend_snapshot_members",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("remote_id", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=40), nullable=True),
        sa.Column("on_demand_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("overall_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("premium_requests", sa.Integer(), nullable=False),
        sa.Column("hard_limit_override_dollars", sa.Integer(), nullable=True),
        sa.Column("monthly_limit_dollars", sa.Integer(), nullable=True),
        sa.Column("effective_limit_dollars", sa.Integer(), nullable=True),
        sa.Column(
            "raw",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_spend_snapshot_members_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["spend_snapshots.id"],
            name=op.f("fk_spend_snapshot_members_snapshot_id_spend_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_snapshot_members")),
    )
    with op.batch_alter_table("spend_snapshot_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spend_snapshot_members_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spend_snapshot_members_snapshot_id"), ["snapshot_id"], unique=False
        )

    op.create_table(
        "usage_event_revisions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("replaced_at", sa.BigInteger(), nullable=False),
        sa.Column("token_cents_e6", sa.BigInteger(), nullable=True),
        sa.Column("token_fee_cents_e6", sa.BigInteger(), nullable=True),
        sa.Column("charged_cents_e6", sa.BigInteger(), nullable=False),
        sa.Column("request_units_e6", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_event_revisions_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["usage_events.id"],
            name=op.f("fk_usage_event_revisions_event_id_usage_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_event_revisions")),
    )
    with op.batch_alter_table("usage_event_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_usage_event_revisions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_usage_event_revisions_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_event_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_event_revisions_event_id"))
        batch_op.drop_index(batch_op.f("ix_usage_event_revisions_account_id"))

    op.drop_table("usage_event_revisions")
    with op.batch_alter_table("spend_snapshot_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spend_snapshot_members_snapshot_id"))
        batch_op.drop_index(batch_op.f("ix_spend_snapshot_members_account_id"))

    op.drop_table("spend_snapshot_members")
    with op.batch_alter_table("member_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_identities_account_id"))

    op.drop_table("member_identities")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_account_ts")
        batch_op.drop_index("ix_usage_events_account_member_ts")
        batch_op.drop_index("ix_usage_events_account_conversation")

    op.drop_table("usage_events")
    op.drop_table("sync_state")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_runs_account_created")

    op.drop_table("sync_runs")
    op.drop_table("sync_locks")
    with op.batch_alter_table("spend_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_spend_snapshots_account_taken")

    op.drop_table("spend_snapshots")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_account_email")

    op.drop_table("members")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_group_memberships_account_member")

    op.drop_table("group_memberships")
    op.drop_table("group_daily_spend")
    with op.batch_alter_table("daily_usage", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_usage_account_member_day")

    op.drop_table("daily_usage")
    op.drop_table("billing_groups")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_account_ts")

    op.drop_table("audit_events")
    with op.batch_alter_table("integrated_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrated_accounts_environment_id"))
        batch_op.drop_index("ix_integrated_accounts_env_tenant")
        batch_op.drop_index("ix_integrated_accounts_env_created")

    op.drop_table("integrated_accounts")
    op.drop_table("keyring")
    op.drop_table("environments")
