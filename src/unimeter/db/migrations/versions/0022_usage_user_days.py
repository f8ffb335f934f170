"""User-day rollups: the fact-day rollups merged per (account, day, user)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05

A usage page at the default (user, day) grain summed two fact-day rows per record (detail
facts and day totals) in SQL, some thirty sums each: most of the page's SQL. For a vendor
with one product, ``usage_user_days`` holds each record's row as it is read: every metric
summed over the detail facts and over the day totals. The sync rebuilds it with the
fact-day rollups; this migration fills it from those already stored. The metric columns
are listed here as they were at this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
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
_KEY = ("account_id", "day", "user_email")
_COUNTS = ("active_facts", "detail_used", "totals_used", "counted_facts")
# (column, summed over day totals?) in column order.
_MERGED = tuple(
    (f"{m}_in_{kind}", kind == "totals") for m in _METRICS for kind in ("detail", "totals")
)


def upgrade() -> None:
    op.create_table(
        "usage_user_days",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_email", sa.String(length=320), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name, _ in _MERGED),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _COUNTS),
        sa.Column("client_version", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["integrated_accounts.id"],
            name=op.f("fk_usage_user_days_account_id_integrated_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*_KEY, name=op.f("pk_usage_user_days")),
    )
    # CASE rather than FILTER: the same sums (NULL when no row of the kind knows the metric).
    sums = [
        *_KEY,
        *(
            f"SUM(CASE WHEN is_day_total = {'TRUE' if totals else 'FALSE'} THEN {name.rsplit('_in_', 1)[0]} END)"
            for name, totals in _MERGED
        ),
        *(f"SUM({name})" for name in _COUNTS),
        "MAX(client_version)",
    ]
    columns = [*_KEY, *(name for name, _ in _MERGED), *_COUNTS, "client_version"]
    op.execute(
        f"INSERT INTO usage_user_days ({', '.join(columns)}) "
        f"SELECT {', '.join(sums)} FROM usage_fact_days GROUP BY {', '.join(_KEY)}"
    )


def downgrade() -> None:
    op.drop_table("usage_user_days")
