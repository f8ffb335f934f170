"""Directory aliases: the other emails of one person, so people are matched across tools

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

An entry's ``aliases`` are the other emails its person uses in other vendors' workspaces
(lower case). Entries uploaded before this revision have none.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Written beside the lead's 0011 (not on this branch yet): point this at "0011" on merge.
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("directory_entries") as batch:
        batch.add_column(sa.Column("aliases", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("directory_entries") as batch:
        batch.drop_column("aliases")
