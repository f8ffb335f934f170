"""What a usage read asks for: the grain, the range and the filters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from unimeter.connectors.facts import METRICS

DIMENSIONS = ("user", "model", "surface")


@dataclass(frozen=True, slots=True)
class UsageQuery:
    account_id: str
    start: dt.date  # inclusive
    end: dt.date  # exclusive
    dims: tuple[str, ...]
    granularity: str
    emails: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    surfaces: tuple[str, ...] | None = None
    include_inactive: bool = False
    # When set, only these (day, user) pairs (the default grain's keyset page).
    keys: tuple[tuple[dt.date, str], ...] | None = None
    # When set, only these groups: values of :func:`group_columns` (one period's page).
    groups: tuple[tuple[str, ...], ...] | None = None
    # The metrics the account's connector reports in its detail facts and in its day totals.
    detail_metrics: frozenset[str] = frozenset(METRICS)
    day_total_metrics: frozenset[str] = frozenset()
    # Rows split by product too (a vendor with several products), optionally only these.
    by_product: bool = False
    products: tuple[str, ...] | None = None
    # When set, rows of the user-day rollups come with their stored record of this version
    # (``record``, NULL without one): see :mod:`.stored`.
    records_version: int | None = None

    @property
    def with_day_totals(self) -> bool:
        """Day totals (per user and day) join in unless rows split by model or surface."""
        return "model" not in self.dims and "surface" not in self.dims

    @property
    def reads_day_totals(self) -> bool:
        """Day totals have neither model nor surface: a split or a filter on either leaves
        them out."""
        return self.with_day_totals and self.models is None and self.surfaces is None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics a row of this query can know, in canonical order."""
        known = self.detail_metrics | (self.day_total_metrics if self.reads_day_totals else set())
        return tuple(m for m in METRICS if m in known)
