"""Connector contract: link tokens name their integration; audit events carry a neutral
action and the member it was done to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Rows written before this revision come from the one vendor unimeter then had (Cursor), so
the backfill names it: existing link tokens are Cursor links, and Cursor's ``remove_user``
audit events (whose ``event_data.email`` is the member removed) become ``member_removed``.
The stored audit rows and their raw payloads are kept as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("event_type", sa.String()),
    sa.column("event_data", sa.JSON()),
    sa.column("action", sa.String()),
    sa.column("subject_email", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("link_tokens") as batch:
        batch.add_column(
            sa.Column("integration", sa.String(40), nullable=False, server_default="cursor")
        )
    with op.batch_alter_table("link_tokens") as batch:
        batch.alter_column("integration", server_default=None)
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("action", sa.String(40), nullable=True))
        batch.add_column(sa.Column("subject_email", sa.String(320), nullable=True))
    _backfill_removals()


def _backfill_removals() -> None:
    # Row by row in Python: JSON access differs between SQLite and PostgreSQL, and an
    # account has few removals.
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_audit.c.id, _audit.c.event_data).where(_audit.c.event_type == "remove_user")
    ).all()
    for row_id, data in rows:
        email = str((data or {}).get("email", "")).strip().lower() or None
        conn.execute(
            sa.update(_audit)
            .where(_audit.c.id == row_id)
            .values(action="member_removed", subject_email=email)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("subject_email")
        batch.drop_column("action")
    with op.batch_alter_table("link_tokens") as batch:
        batch.drop_column("integration")
