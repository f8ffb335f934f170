"""What AI wrote and what agents ran: commits with their lines by origin, accepted AI
changes, cloud-agent runs, and the per-day counts of a vendor's analytics. Vendor-neutral:
connectors fill them from their code-tracking, agents and analytics APIs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK, now_ms

_ACCOUNT_FK = "integrated_accounts.id"


class Commit(Base):
    __tablename__ = "commits"
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("ix_commits_account_committed", "account_id", "committed_at"),
        Index("ix_commits_account_user_committed", "account_id", "user_email", "committed_at"),
        # A usage page matches its users' commits by lowercased email (authors' emails
        # come as git has them); without it, it read every user's commits of its days.
        Index(
            "ix_commits_account_lower_user_committed",
            "account_id",
            text("lower(user_email)"),
            "committed_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    commit_id: Mapped[str] = mapped_column(String(100))
    user_email: Mapped[str] = mapped_column(String(320))
    repository: Mapped[str | None] = mapped_column(String(300))
    branch: Mapped[str | None] = mapped_column(String(300))
    is_primary_branch: Mapped[bool | None] = mapped_column(Boolean)
    surface: Mapped[str] = mapped_column(String(40))
    committed_at: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date)  # the UTC day of committed_at
    lines_added: Mapped[int] = mapped_column(BigInteger)
    lines_deleted: Mapped[int] = mapped_column(BigInteger)
    completion_lines_added: Mapped[int] = mapped_column(BigInteger)
    completion_lines_deleted: Mapped[int] = mapped_column(BigInteger)
    agent_lines_added: Mapped[int] = mapped_column(BigInteger)
    agent_lines_deleted: Mapped[int] = mapped_column(BigInteger)
    human_lines_added: Mapped[int | None] = mapped_column(BigInteger)
    human_lines_deleted: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


# Commits summed per (account, lowercased author email, UTC day), kept by every write of
# commits in its transaction: a usage page's ``committed`` group reads one row per record
# instead of every commit its people made on its days (authors' emails come as git has
# them, so the rows are by the lowercased email).
commit_days = Table(
    "commit_days",
    Base.metadata,
    Column("account_id", ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"), primary_key=True),
    Column("user_email", String(320), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("commits", Integer, nullable=False),
    Column("lines_added", BigInteger, nullable=False),
    Column("completion_lines_added", BigInteger, nullable=False),
    Column("agent_lines_added", BigInteger, nullable=False),
    # NULL when no commit of the day says (a vendor that does not split human lines).
    Column("human_lines_added", BigInteger, nullable=True),
)


class AiChange(Base):
    __tablename__ = "ai_changes"
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("ix_ai_changes_account_created", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300))
    user_email: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date)
    lines_added: Mapped[int] = mapped_column(BigInteger)
    lines_deleted: Mapped[int] = mapped_column(BigInteger)
    file_extensions: Mapped[str] = mapped_column(Text, default="")  # comma-separated
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentRun(Base):
    __tablename__ = "agent_runs"
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("ix_agent_runs_account_created", "account_id", "created_at"),
        # As the commits': a usage page counts its users' runs by lowercased email.
        Index(
            "ix_agent_runs_account_lower_user_created",
            "account_id",
            text("lower(user_email)"),
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[str] = mapped_column(String(200))
    user_email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    repository: Mapped[str | None] = mapped_column(String(300))
    branch: Mapped[str | None] = mapped_column(String(300))
    pull_request_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date] = mapped_column(Date)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cache_read_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cache_write_tokens: Mapped[int | None] = mapped_column(BigInteger)
    cost_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ActivityCount(Base):
    __tablename__ = "activity_counts"
    __table_args__ = (
        UniqueConstraint("account_id", "day", "user_email", "kind", "key"),
        Index("ix_activity_counts_account_kind_day", "account_id", "kind", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey(_ACCOUNT_FK, ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    user_email: Mapped[str] = mapped_column(String(320), default="")
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300))
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)
