"""The canonical usage fact table: every connector's usage, in one vendor-neutral shape.

See :mod:`unimeter.connectors.facts` for the meaning of the key and of NULL (unknown, never
zero). The unified API, the analyses, the exports and the dashboard read members and these
facts; vendor-owned raw tables (events, spend snapshots, …) only feed them and the
``remote_data`` passthrough.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK, JSONType, now_ms

_Int = Mapped[int | None]

# The metrics the adoption scorecards sum (analytics.adoption_repository.ADOPTION_METRICS).
ADOPTION_INDEXED = (
    "completions_shown", "completions_accepted", "applies", "accepts", "agent_requests",
    "chat_requests", "edit_requests", "inline_edit_requests", "review_requests",
)  # fmt: skip


def _metric() -> _Int:
    return mapped_column(BigInteger, nullable=True, info={"metric": True})


class UsageFact(Base):
    __tablename__ = "usage_facts"
    __table_args__ = (
        UniqueConstraint(
            "account_id",
            "day",
            "user_email",
            "actor",
            "product",
            "surface",
            "model",
            "is_day_total",
            name="uq_usage_facts_key",
        ),
        Index("ix_usage_facts_account_user_day", "account_id", "user_email", "day"),
        Index("ix_usage_facts_account_product_day", "account_id", "product", "day"),
        # The unified API's pages split by user and model list their groups in this order
        # (not led by is_day_total: SQLite then picked it for anomaly detection, 13 min).
        Index(
            "ix_usage_facts_account_user_model",
            "account_id",
            "user_email",
            "model",
            "day",
        ),
        # Seats' last active day: a covering range of the day totals marked active.
        Index(
            "ix_usage_facts_account_activity",
            "account_id",
            "is_day_total",
            "is_active",
            "user_email",
            "day",
        ),
        # Adoption: a period of day totals (or detail facts) with the metrics it sums, read
        # from the index alone rather than from the wide rows.
        Index(
            "ix_usage_facts_account_adoption",
            "account_id",
            "is_day_total",
            "day",
            "user_email",
            "is_active",
            *ADOPTION_INDEXED,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date] = mapped_column(Date)
    user_email: Mapped[str] = mapped_column(String(320), default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    product: Mapped[str] = mapped_column(String(40))
    surface: Mapped[str] = mapped_column(String(40), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    is_day_total: Mapped[bool] = mapped_column(Boolean, default=False)
    # requests
    requests: _Int = _metric()
    requests_included: _Int = _metric()
    requests_usage_based: _Int = _metric()
    requests_api_key: _Int = _metric()
    requests_errored: _Int = _metric()
    requests_premium: _Int = _metric()
    # features
    chat_requests: _Int = _metric()
    agent_requests: _Int = _metric()
    edit_requests: _Int = _metric()
    inline_edit_requests: _Int = _metric()
    review_requests: _Int = _metric()
    completions_shown: _Int = _metric()
    completions_accepted: _Int = _metric()
    # tokens
    input_tokens: _Int = _metric()
    output_tokens: _Int = _metric()
    cache_read_tokens: _Int = _metric()
    cache_write_tokens: _Int = _metric()
    # charges
    cost_cents_e6: _Int = _metric()
    included_cents_e6: _Int = _metric()
    usage_based_cents_e6: _Int = _metric()
    # code
    lines_added: _Int = _metric()
    lines_removed: _Int = _metric()
    accepted_lines_added: _Int = _metric()
    accepted_lines_removed: _Int = _metric()
    applies: _Int = _metric()
    accepts: _Int = _metric()
    rejects: _Int = _metric()
    tool_actions_accepted: _Int = _metric()
    tool_actions_rejected: _Int = _metric()
    # work
    sessions: _Int = _metric()
    commits: _Int = _metric()
    pull_requests: _Int = _metric()
    # activity
    is_active: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    client_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The vendor's rows behind the fact when it keeps no raw table of its own (remote_data).
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms)


# The metric columns, in table order (the fact-day rollups keep a sum of each).
FACT_METRICS: tuple[str, ...] = tuple(
    column.name for column in UsageFact.__table__.c if column.info.get("metric")
)
