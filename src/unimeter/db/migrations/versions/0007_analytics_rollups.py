"""Analytics rollups: usage per member, model and calendar month; a covering index for adoption

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SUMS = (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "charged_cents_e6", "included_cents_e6", "usage_based_cents_e6",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "user_model_month_rollups",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(320), nullable=False),
        sa.Column("model", sa.String(120), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in _SUMS],
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_user_model_month_rollups_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_model_month_rollups")),
        sa.UniqueConstraint(
            "account_id", "month", "user_email", "model",
            name=op.f("uq_user_model_month_rollups_account_id_month_user_email_model"),
        ),
    )  # fmt: skip
    # Existing stores: sum the usage rollups they already hold, month by month.
    month = (
        "date_trunc('month', day)::date"
        if op.get_bind().dialect.name == "postgresql"
        else "date(day, 'start of month')"
    )
    sums = ", ".join(f"SUM({name})" for name in ("events", *_SUMS))
    op.execute(
        "INSERT INTO user_model_month_rollups (account_id, month, user_email, model, events, "
        f"{', '.join(_SUMS)}) SELECT account_id, {month}, user_email, model, {sums} "
        f"FROM usage_rollups GROUP BY account_id, {month}, user_email, model"
    )

    op.create_index(
        "ix_daily_usage_account_day_adoption", "daily_usage", ["account_id", "day", *_ADOPTION]
    )


# Written out rather than imported: a migration must not change when the models do.
_ADOPTION = (
    "is_active", "member_id", "email", "tabs_shown", "tabs_accepted", "applies", "accepts",
    "agent_requests", "chat_requests", "composer_requests", "cmdk_requests",
)  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_daily_usage_account_day_adoption", "daily_usage")
    op.drop_table("user_model_month_rollups")
