"""Members keep their unified user record, rendered when they are written

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05

A users page built each member's record in Python from twelve columns: more than half of
the page's time. ``members.record`` keeps it rendered (``unimeter.db.user_records``); this
migration renders it for the members already stored, with the renderer of the release
that runs it (the same one the sync will use).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from unimeter.db import user_records

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("record", sa.Text(), nullable=True))
    user_records.fill(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("record")
