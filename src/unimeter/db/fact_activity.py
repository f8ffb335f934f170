"""When a usage fact makes its record active: shared by the unified API's sums, which count
such facts per group, and the fact-day rollups, which count them per (user, product, day)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_

_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def _positive(column: Any) -> Any:
    return func.coalesce(column, 0) > 0


def used_in_detail(f: Any) -> Any:
    """A detail fact that records usage: requests, tokens or money. ``f``: the columns of
    the facts table."""
    return and_(
        f.is_day_total.is_(False),
        or_(_positive(f.requests), _positive(f.cost_cents_e6),
            *[_positive(f[name]) for name in _TOKENS]),
    )  # fmt: skip


def used_in_totals(f: Any) -> Any:
    """A day total that records requests."""
    return and_(f.is_day_total.is_(True), _positive(f.requests))


def counts_as_active(f: Any) -> Any:
    """Whether a fact makes its row active (a row of none is inactive and left out)."""
    return or_(f.is_active.is_(True), used_in_detail(f), used_in_totals(f))
