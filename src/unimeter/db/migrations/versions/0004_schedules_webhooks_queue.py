"""Sync schedules, webhooks with their outbox, and (PostgreSQL) the procrastinate job queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("integrated_accounts") as batch:
        batch.add_column(sa.Column("sync_frequency_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("next_sync_at", sa.BigInteger(), nullable=True))
    # Existing accounts keep the default hourly cadence and are due at once.
    op.execute("UPDATE integrated_accounts SET sync_frequency_minutes = 60, next_sync_at = 0")
    op.create_index("ix_integrated_accounts_due", "integrated_accounts", ["status", "next_sync_at"])
    with op.batch_alter_table("sync_runs") as batch:
        batch.add_column(sa.Column("scheduled_for", sa.BigInteger(), nullable=True))
    _create_webhook_tables()
    if op.get_bind().dialect.name == "postgresql":
        _create_job_queue()


def _create_webhook_tables() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("environment_id", sa.String(40), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_webhooks_environment_id_environments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_env_created", "webhooks", ["environment_id", "created_at", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("webhook_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_webhook_created",
        "webhook_deliveries",
        ["webhook_id", "created_at", "id"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("attempted_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        "ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "attempted_at"]
    )


def _create_job_queue() -> None:
    """procrastinate's own schema, as shipped with the pinned version (3.10). A later
    procrastinate release adds its SQL migrations here as new revisions."""
    bind = op.get_bind()
    exists = bind.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar()
    if exists is None:
        schema = _queue_schema()
        # Straight to the driver without parameters: the SQL holds literal '%' signs.
        with bind.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(schema)


def _queue_schema() -> str:
    """procrastinate's ``sql/schema.sql``, found without importing procrastinate: its
    package imports the whole library (a second or more of every fresh store's start-up)."""
    spec = importlib.util.find_spec("procrastinate")
    assert spec is not None and spec.origin is not None, "procrastinate is a dependency"
    return Path(spec.origin).with_name("sql").joinpath("schema.sql").read_text()


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    with op.batch_alter_table("sync_runs") as batch:
        batch.drop_column("scheduled_for")
    op.drop_index("ix_integrated_accounts_due", table_name="integrated_accounts")
    with op.batch_alter_table("integrated_accounts") as batch:
        batch.drop_column("next_sync_at")
        batch.drop_column("sync_frequency_minutes")
