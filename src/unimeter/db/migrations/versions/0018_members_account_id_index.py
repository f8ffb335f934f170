"""Members indexed by (account, id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05

The users page walks an account's members in id order (its keyset). With only the
``(account_id, email)`` index, every page read all of the account's members and sorted
them to keep 101; an index in page order reads the page's rows alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_members_account_id_order"


def upgrade() -> None:
    op.create_index(_INDEX, "members", ["account_id", "id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="members")
