"""Fact-day rollups: usage facts summed per (user, product, day, kind)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

A usage page at the default (user, day) grain summed every model's facts of its days (about
eight per record, some thirty metrics each): most of its SQL. ``usage_fact_days`` keeps them
summed over model, surface and actor, one row for a (user, product, day)'s day totals and
one for its detail facts, with counts of the facts that make a record active. The sync
rebuilds the rows of every day whose facts change; this migration fills them from the facts
already stored. The metric columns are listed here as they were at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_METRICS = (
    "requests", "requests_included", "requests_usage_based", "requests_api_key",
    "requests_errored", "requests_premium", "chat_requests", "agent_requests",
    "edit_requests", "inline_edit_requests", "review_requests", "completions_shown",
    "completions_accepted", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cost_cents_e6", "included_cents_e6", "usage_based_cents_e6",
    "lines_added", "lines_removed", "accepted_lines_added", "accepted_lines_removed",
    "applies", "accepts", "rejects", "tool_actions_accepted", "tool_actions_rejected",
    "sessions", "commits", "pull_requests",
)  # fmt: skip
_KEY = ("account_id", "day", "user_email", "product", "is_day_total")
_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _positive(column: str) -> str:
    return f"COALESCE({column}, 0) > 0"


_USED_IN_DETAIL = "(NOT is_day_total AND ({}))".format(
    " OR ".join(_positive(c) for c in ("requests", "cost_cents_e6", *_TOKENS))
)
_USED_IN_TOTALS = f"(is_day_total AND {_positive('requests')})"
_COUNTED = f"(is_active IS NOT NULL AND is_active) OR {_USED_IN_DETAIL} OR {_USED_IN_TOTALS}"


def _count_if(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def upgrade() -> None:
    op.create_table(
        "usage_fact_days",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        sa.Column("product", sa.String(length=40), nullable=False),
        sa.Column("is_day_total", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _METRICS),
        sa.Column("active_facts", sa.Integer(), nullable=False),
        sa.Column("detail_used", sa.Integer(), nullable=False),
        sa.Column("totals_used", sa.Integer(), nullable=False),
        sa.Column("counted_facts", sa.Integer(), nullable=False),
        sa.Column("client_version", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_fact_days_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*_KEY, name=op.f("pk_usage_fact_days")),
    )
    columns = [*_KEY, *_METRICS, "active_facts", "detail_used", "totals_used",
               "counted_facts", "client_version"]  # fmt: skip
    sums = [
        *_KEY,
        *(f"SUM({name})" for name in _METRICS),
        _count_if("is_active IS NOT NULL AND is_active"),
        _count_if(_USED_IN_DETAIL),
        _count_if(_USED_IN_TOTALS),
        _count_if(_COUNTED),
        "MAX(client_version)",
    ]
    op.execute(
        f"INSERT INTO usage_fact_days ({', '.join(columns)}) "
        f"SELECT {', '.join(sums)} FROM usage_facts GROUP BY {', '.join(_KEY)}"
    )


def downgrade() -> None:
    op.drop_table("usage_fact_days")
