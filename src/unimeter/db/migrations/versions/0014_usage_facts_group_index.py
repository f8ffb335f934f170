"""An index of the usage facts by (user, model): the unified API's pages of weeks and
months split by user and model find their groups in it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

A page of ``group_by[]=user&group_by[]=model&granularity=month`` lists its first groups of
a period in (user, model) order; read from this index in that order, the listing stops
after the page's groups instead of sorting every fact of the period first (see
``unified/repository.py``). ``is_day_total`` is deliberately not its second column: with it
there, SQLite (which has no statistics here) chose this index for anomaly detection's
statements too, and detection took 13 minutes instead of 0.2 s (BENCHMARKS.md, Issue 15).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["account_id", "user_email", "model", "day"]


def upgrade() -> None:
    op.create_index("ix_usage_facts_account_user_model", "usage_facts", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_usage_facts_account_user_model", table_name="usage_facts")
