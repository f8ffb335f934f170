"""The analyses' view of the canonical usage facts (:mod:`unimeter.connectors.facts`).

Split by model or surface, an analysis reads *detail* facts only: the day totals may
overlap them (see the facts module). Metric names here are the facts' own; the analyses'
public names (``events``, ``charged_cents_e6``) map onto them in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from unimeter.db.models.facts import UsageFact
from unimeter.sync.store.rollups_repository import NARROW_METRICS

FACT = UsageFact
DETAIL = UsageFact.is_day_total.is_(False)
DAY_TOTAL = UsageFact.is_day_total.is_(True)

# The consumption metrics (the narrow rollups' names) and the fact column each one sums.
CONSUMPTION_COLUMNS = dict(NARROW_METRICS)


def metric(name: str) -> Any:
    """A fact's metric with unknown (NULL) as 0, for sums that mix vendors; whether a
    vendor reports a metric at all is the connector's declaration, not a NULL sum."""
    return func.coalesce(getattr(UsageFact, name), 0)


def consumption_columns() -> dict[str, Any]:
    """Each consumption metric as an expression over one fact row."""
    return {name: metric(column) for name, column in CONSUMPTION_COLUMNS.items()}
