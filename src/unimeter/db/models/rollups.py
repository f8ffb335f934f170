"""Usage rolled up per (member, model, surface, day), maintained by the sync.

Aggregations over long ranges read these rows, never raw events. The natural key is also
the keyset sort key of the unified usage API, and a sync never rewrites it for a row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK

# The user key of events Cursor no longer attributes and we could not recover.
UNATTRIBUTED = ""


class _UsageSums:
    """The sums every rollup keeps: what consumption and chargeback add up."""

    events: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_read_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cache_write_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    charged_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    included_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    usage_based_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageRollup(_UsageSums, Base):
    __tablename__ = "usage_rollups"
    __table_args__ = (
        # Named as migration 0002 created it (the naming convention would give a longer name).
        UniqueConstraint(
            "account_id",
            "day",
            "user_email",
            "model",
            "surface",
            name="uq_usage_rollups_account_id",
        ),
        Index("ix_usage_rollups_account_user_day", "account_id", "user_email", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date] = mapped_column(Date)
    user_email: Mapped[str] = mapped_column(String(320))
    model: Mapped[str] = mapped_column(String(120))
    surface: Mapped[str] = mapped_column(String(40))
    included_events: Mapped[int] = mapped_column(Integer, default=0)
    usage_based_events: Mapped[int] = mapped_column(Integer, default=0)
    api_key_events: Mapped[int] = mapped_column(Integer, default=0)
    errored_events: Mapped[int] = mapped_column(Integer, default=0)
    max_mode_events: Mapped[int] = mapped_column(Integer, default=0)
    token_fee_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)
    request_units_e6: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupDirtyDay(Base):
    """A day whose events changed and whose rollups must be rebuilt.

    Marked in the same transaction as the change, cleared by the rebuild, so a sync that
    dies in between leaves the mark for the next run instead of stale rollups.
    """

    __tablename__ = "rollup_dirty_days"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class UserDayRollup(_UsageSums, Base):
    """Usage per (member, day): the usage rollups summed over model and surface.

    Narrow and about a seventh of their rows, so analyses over months of a large team read
    a compact range instead of wide rows scattered among the events. Rebuilt with the
    usage rollups, from them, in the same transaction.
    """

    __tablename__ = "user_day_rollups"
    __table_args__ = (
        UniqueConstraint("account_id", "day", "user_email"),
        Index("ix_user_day_rollups_account_user_day", "account_id", "user_email", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date] = mapped_column(Date)
    user_email: Mapped[str] = mapped_column(String(320))
    # Charged for usage outside the editor (CLI, cloud agents, automations, service accounts).
    headless_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)


class UserModelMonthRollup(_UsageSums, Base):
    """Usage per (member, model, calendar month): the usage rollups summed over surface and
    the month's days.

    Consumption by month over a quarter reads a few of these per member and model instead
    of ninety days of wide rows (only the partial months at either end of a range come
    from the daily rollups). Rebuilt with the usage rollups, from them, in the same
    transaction, for every month a rebuilt day belongs to.
    """

    __tablename__ = "user_model_month_rollups"
    __table_args__ = (UniqueConstraint("account_id", "month", "user_email", "model"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    month: Mapped[dt.date] = mapped_column(Date)  # the month's first day
    user_email: Mapped[str] = mapped_column(String(320))
    model: Mapped[str] = mapped_column(String(120))
