"""Narrow rollups of the detail usage facts, maintained by the sync.

Analyses over long ranges read these rows instead of the wide facts. Both are rebuilt from
the detail facts (:mod:`unimeter.db.models.facts`) of every day a sync touched.
"""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, BigIntPK
from .facts import FACT_METRICS

# The user key of usage the vendor no longer attributes and we could not recover.
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


class RollupDirtyDay(Base):
    """A day whose events or facts changed and whose rollups must be rebuilt.

    Marked in the same transaction as the change, cleared by the rebuild, so a sync that
    dies in between leaves the mark for the next run instead of stale rollups.
    """

    __tablename__ = "rollup_dirty_days"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)


class UserDayRollup(_UsageSums, Base):
    """Usage per (member, product, day): the detail facts summed over model and surface.

    Narrow and about a seventh of their rows, so analyses over months of a large team read
    a compact range instead of wide rows. Rebuilt from the detail facts of a day in the
    transaction that rebuilds them (or that writes a vendor's reported ones).
    """

    __tablename__ = "user_day_rollups"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "day", "user_email", "product", name="uq_user_day_rollups_key"
        ),
        Index("ix_user_day_rollups_account_user_day", "account_id", "user_email", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    day: Mapped[dt.date] = mapped_column(Date)
    user_email: Mapped[str] = mapped_column(String(320))
    product: Mapped[str] = mapped_column(String(40))
    # Charged for usage outside the editor (CLI, cloud agents, automations, service accounts).
    headless_cents_e6: Mapped[int] = mapped_column(BigInteger, default=0)


class UserModelMonthRollup(_UsageSums, Base):
    """Usage per (member, product, model, calendar month): the detail facts summed over
    surface and the month's days.

    Consumption by month over a quarter reads a few of these per member and model instead
    of ninety days of wide rows (only the partial months at either end of a range come
    from the daily rollups). Rebuilt with the user-day rollups, in the same transaction,
    for every month a rebuilt day belongs to.
    """

    __tablename__ = "user_model_month_rollups"
    __table_args__ = (
        UniqueConstraint(
            "account_id", "month", "user_email", "product", "model",
            name="uq_user_model_month_rollups_key",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE")
    )
    month: Mapped[dt.date] = mapped_column(Date)  # the month's first day
    user_email: Mapped[str] = mapped_column(String(320))
    product: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))


# Facts flagged active by the vendor; detail facts and day totals that show usage; and
# facts that count as active by either (unimeter.db.fact_activity): each summed rollup
# row counts them.
ACTIVITY_COUNTS = ("active_facts", "detail_used", "totals_used", "counted_facts")


def _user_day_key() -> list[Column[Any]]:
    """The (account, day, user) columns that begin a summed rollup's key."""
    return [
        Column(
            "account_id",
            ForeignKey("integrated_accounts.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("day", Date, primary_key=True),
        Column("user_email", String(320), primary_key=True),
    ]


def _activity() -> list[Column[Any]]:
    """What a summed rollup row keeps beside its metrics: the activity counts and the
    newest client version."""
    return [
        *(Column(name, Integer, nullable=False) for name in ACTIVITY_COUNTS),
        Column("client_version", String(40), nullable=True),
    ]


# The usage facts of a (user, product, day), summed over model, surface and actor: one row
# for its day totals and one for its detail facts. A usage page at the default (user, day)
# grain reads about two of these per record instead of every model's facts of the day (the
# sums were most of the SQL of such a page). Every metric is summed (NULL when no fact knows
# it), with counts of the facts that make a record active, so a reader needs no connector to
# pick what it shows. Rebuilt with the other rollups, for every day whose facts changed.
usage_fact_days = Table(
    "usage_fact_days",
    Base.metadata,
    *_user_day_key(),
    Column("product", String(40), primary_key=True),
    Column("is_day_total", Boolean, primary_key=True),
    *(Column(name, BigInteger, nullable=True) for name in FACT_METRICS),
    *_activity(),
)


def in_detail(metric: str) -> str:
    """The ``usage_user_days`` column of a metric summed over detail facts."""
    return f"{metric}_in_detail"


def in_totals(metric: str) -> str:
    """The ``usage_user_days`` column of a metric summed over day totals."""
    return f"{metric}_in_totals"


# The fact-day rollups of a (user, day) merged into one row: every metric summed over all
# products, once over the detail facts and once over the day totals (a reader picks the one
# its connector's profile names, so the row needs no connector to be written). A usage page
# at the default grain of a single-product vendor reads one of these per record as it is:
# summing the two fact-day rows of each record in SQL was most of that page's SQL. Rebuilt
# from ``usage_fact_days`` with it, day by day.
usage_user_days = Table(
    "usage_user_days",
    Base.metadata,
    *_user_day_key(),
    *(
        Column(column(name), BigInteger, nullable=True)
        for name in FACT_METRICS
        for column in (in_detail, in_totals)
    ),
    *_activity(),
)


# The part of each default-grain usage record (one ``usage_user_days`` row of a vendor with
# one product) that only the sync changes, rendered as JSON when the sync rebuilds the row's
# day: its id, product, dates, usage groups (committed and agents too) and charges. A usage
# page splices in what a request knows (organization, user, sync time, ``remote_data``):
# rendering the groups of every record was most of a page's time. Deleted with the day's
# rollups, rendered again after them; ``version`` names the rendering (the code and the
# connector's profile): a record of another version is not read.
usage_day_records = Table(
    "usage_day_records",
    Base.metadata,
    *_user_day_key(),
    Column("version", Integer, nullable=False),
    Column("record", Text, nullable=False),
)
