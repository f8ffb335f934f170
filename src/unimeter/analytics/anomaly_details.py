"""The evidence stored with an anomaly (``details``): one type per field whatever the kind.

Money is exact decimal dollars as text, ratios are numbers, counts integers, and a field
that does not apply to a kind is null (``AnomalyDetails``). Anomalies stored before this
shape existed held ``value``/``median``/``mad`` in the signal's own unit (dollars as text
for money, integers for tokens); :func:`stored` reads both, so old rows render the same way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from unimeter.kit.money import CENTS_E6_PER_DOLLAR

from .schemas import AnomalyDetails, AnomalyMetric

METRICS: dict[str, AnomalyMetric] = {
    "cost_spike": "cost",
    "headless_spike": "headless_cost",
    "token_spike": "tokens",
    "expensive_model": "cost_per_event",
}


def usd(cents_e6: int | float | Decimal) -> str:
    """Millionths of a cent (a median may be a half) → exact decimal dollars."""
    return format((Decimal(cents_e6) / CENTS_E6_PER_DOLLAR).normalize(), "f")


def ratio(value: float | Decimal, usual: float | Decimal) -> float | None:
    return round(float(value) / float(usual), 2) if usual else None


def spike(kind: str, found: dict[str, Any], *, cost: int, usual_cost: float) -> AnomalyDetails:
    """A spike's evidence: ``found`` from the robust test (in the signal's unit), and the
    day's cost against its usual (for a token spike, the charged cost; else the signal)."""
    value, median, mad, z = found["value"], found["median"], found["mad"], found["robust_z"]
    tokens = kind == "token_spike"
    return AnomalyDetails(
        metric=METRICS[kind], cost=usd(cost), usual_cost=usd(usual_cost),
        excess_cost=usd(Decimal(cost) - Decimal(usual_cost)), multiple=ratio(value, median),
        robust_z=None if z is None else round(z, 2),
        cost_mad=None if tokens else usd(mad),
        tokens=value if tokens else None, usual_tokens=round(median) if tokens else None,
        tokens_mad=round(mad) if tokens else None,
    )  # fmt: skip


def new_model(charged: int, events: int, per_event: float) -> AnomalyDetails:
    """A first use of a costlier model: its events against the same events at the user's
    usual cost per event."""
    usual_per_event = int(per_event)
    usual = usual_per_event * events
    return AnomalyDetails(
        metric="cost_per_event", cost=usd(charged), usual_cost=usd(usual),
        excess_cost=usd(charged - usual), multiple=ratio(charged / events, per_event),
        events=events, cost_per_event=usd(charged // events),
        usual_cost_per_event=usd(usual_per_event),
    )  # fmt: skip


def stored(kind: str, details: dict[str, Any]) -> AnomalyDetails:
    """The details of a stored anomaly, in today's shape whatever shape it was stored in."""
    if "excess_cost" in details:
        try:
            return AnomalyDetails.model_validate(details)
        except ValidationError:
            pass
    try:
        return _legacy(kind, details)
    except (KeyError, TypeError, ValueError, ArithmeticError, InvalidOperation):
        return AnomalyDetails(metric=METRICS.get(kind, "cost"))  # unreadable: no evidence


def _legacy(kind: str, d: dict[str, Any]) -> AnomalyDetails:
    """The first shape: ``value``/``median``/``mad``/``robust_z`` in the signal's unit."""
    z = d.get("robust_z")
    z = None if z is None else round(float(z), 2)
    if kind == "token_spike":
        count, usual_count = int(d["value"]), int(d["median"])
        return AnomalyDetails(
            metric="tokens", multiple=ratio(count, usual_count), robust_z=z, tokens=count,
            usual_tokens=usual_count, tokens_mad=int(d["mad"]),
        )  # fmt: skip
    if kind == "expensive_model":
        per_event, usual = Decimal(d["cost_per_event"]), Decimal(d["usual_cost_per_event"])
        return AnomalyDetails(
            metric="cost_per_event", cost=_dollars(d["value"]), multiple=ratio(per_event, usual),
            cost_per_event=_dollars(per_event), usual_cost_per_event=_dollars(usual),
        )  # fmt: skip
    value, median = Decimal(d["value"]), Decimal(d["median"])
    return AnomalyDetails(
        metric=METRICS.get(kind, "cost"), cost=_dollars(value), usual_cost=_dollars(median),
        excess_cost=_dollars(value - median), multiple=ratio(value, median), robust_z=z,
        cost_mad=_dollars(d["mad"]),
    )  # fmt: skip


def _dollars(amount: str | int | Decimal) -> str:
    return format(Decimal(amount).normalize(), "f")
