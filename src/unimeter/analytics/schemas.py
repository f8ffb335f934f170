"""Pydantic shapes of the analytics API. Amounts are exact decimal dollars as strings."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Granularity = Literal["day", "week", "month", "total"]
ConsumptionDimension = Literal["user", "model", "product"]


class ScopeOut(BaseModel):
    integrated_account_id: str | None = None
    tenant_id: str | None = None
    products: list[str] | None = Field(None, description="Only these products (tools)")


class SeatOut(BaseModel):
    integrated_account_id: str
    user_id: str
    email: str
    name: str | None
    role: str | None
    last_active: dt.date | None = Field(description="Last active day (UTC), if ever")
    days_idle: int | None = Field(description="Whole days since the last active day")


class Money(BaseModel):
    amount: str = Field(description="Exact decimal amount", examples=["120.5"])
    currency: Literal["USD"] = "USD"


class Reclaimable(BaseModel):
    seats: int = Field(description="Idle and never-used seats")
    priced_seats: int = Field(description="Of them, seats whose account has a seat price")
    monthly: Money | None = Field(description="Their monthly price; null when none is priced")


class SeatsOut(BaseModel):
    scope: ScopeOut
    as_of: dt.date = Field(description="The last day (UTC) the windows include")
    provisioned: int = Field(description="Members holding a seat now (not removed)")
    active_7d: int
    active_30d: int
    utilization_7d: float | None = Field(description="active_7d / provisioned, in percent")
    utilization_30d: float | None = Field(description="active_30d / provisioned, in percent")
    idle_days: int
    idle: list[SeatOut] = Field(description="Seats used before but not in the last idle_days")
    never_used: list[SeatOut] = Field(description="Seats with no activity in stored history")
    reclaimable: Reclaimable


class Tokens(BaseModel):
    input: int
    output: int
    cache_read: int
    cache_write: int
    total: int


class Cost(BaseModel):
    charged: str = Field(description="What the vendor charged, included and usage-based")
    included: str | None = Field(
        description="Part covered by the plan's included usage; null: the vendor does not say"
    )
    usage_based: str | None = Field(
        description="Part billed as usage beyond the plan; null: the vendor does not say"
    )
    currency: Literal["USD"] = "USD"


class ConsumptionTotals(BaseModel):
    events: int | None = Field(description="Requests; null where the vendor does not count them")
    tokens: Tokens
    cost: Cost


class ConsumptionRow(ConsumptionTotals):
    period_start: dt.date
    period_end: dt.date = Field(description="Exclusive")
    integrated_account_id: str | None = None
    user_email: str | None = Field(
        None, description="Empty string: usage the vendor left unattributed"
    )
    model: str | None = None
    product: str | None = Field(None, description="With group_by[]=product: the tool")
    rank: int | None = Field(None, description="With top: 1 for the costliest group")


class ConsumptionOut(BaseModel):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    granularity: Granularity
    group_by: list[ConsumptionDimension]
    result: list[ConsumptionRow]
    next_cursor: str | None
    totals: ConsumptionTotals = Field(description="Every row of the range, on every page")
    others: ConsumptionTotals | None = Field(
        description="With top: what the groups outside the top N add to the totals"
    )


class AnomalyThresholds(BaseModel):
    """When usage counts as an anomaly (docs/metrics.md). Every signal needs both a minimum
    amount and a minimum multiple of the baseline, so small users page nobody."""

    model_config = ConfigDict(extra="forbid")

    baseline_days: int = Field(default=28, ge=7, le=90, description="Trailing days in the baseline")
    min_baseline_days: int = Field(
        default=7, ge=1, le=90, description="Days of history needed first"
    )
    robust_z: float = Field(
        default=6.0, ge=1, le=100, description="Deviation in MAD units (x1.4826)"
    )
    min_multiple: float = Field(default=3.0, ge=1, le=1000, description="Times the baseline median")
    min_cost: str = Field(default="25", description="Minimum daily cost in USD above the median")
    min_tokens: int = Field(
        default=5_000_000, ge=0, description="Minimum daily tokens above the median"
    )
    model_cost_multiple: float = Field(
        default=5.0, ge=1, le=1000, description="A new model's cost per event vs the user's usual"
    )
    model_min_cost: str = Field(default="5", description="Minimum daily cost on the new model, USD")
    headless_min_cost: str = Field(
        default="10", description="Minimum daily headless/agent cost, USD"
    )
    agent_min_failures: int = Field(
        default=3,
        ge=1,
        le=10_000,
        description="Minimum failed agent runs in a day above the median",
    )
    agent_run_multiple: float = Field(
        default=5.0, ge=1, le=1000, description="A run's tokens or cost vs the person's median run"
    )
    agent_run_min_cost: str = Field(default="5", description="Minimum cost of a runaway run, USD")
    agent_run_min_tokens: int = Field(
        default=2_000_000, ge=0, description="Minimum tokens of a runaway run"
    )


class SettingsOut(BaseModel):
    integrated_account_id: str
    seat_price: Money | None = Field(
        description="Monthly price of one seat; vendors do not report it"
    )
    allowed_admins: list[str] | None = Field(
        description="Emails allowed to hold admin roles; null: no allow-list (no findings)"
    )
    anomaly_thresholds: AnomalyThresholds


class SettingsUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    seat_price: str | None = Field(
        None,
        description='Monthly price of one seat in USD, e.g. "40"; null to clear',
        examples=["40"],
    )
    allowed_admins: list[str] | None = Field(None, max_length=10_000)
    anomaly_thresholds: AnomalyThresholds | None = Field(
        None, description="Replaces the thresholds; null restores the defaults"
    )


AnomalyKind = Literal[
    "cost_spike", "token_spike", "headless_spike", "expensive_model", "agent_failures",
    "agent_runaway",
]  # fmt: skip
AnomalyStatus = Literal["open", "acknowledged", "resolved"]


class AnomalyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AnomalyStatus


AnomalyMetric = Literal[
    "cost", "headless_cost", "tokens", "cost_per_event", "failed_runs", "run_cost", "run_tokens"
]


class AnomalyDetails(BaseModel):
    """The evidence of an anomaly (docs/metrics.md). Each field has one type whatever the
    kind: money is exact decimal dollars as a string, ratios are numbers, counts integers;
    a field that does not apply to the kind is null."""

    metric: AnomalyMetric = Field(description="What was compared with the user's baseline")
    cost: str | None = Field(
        default=None,
        description="The day's cost behind the anomaly, USD (the headless cost for "
        "headless_spike, the cost on the new model for expensive_model)",
    )
    usual_cost: str | None = Field(
        default=None,
        description="What that cost usually is, USD: the baseline median, or for "
        "expensive_model the same events at the user's usual cost per event",
    )
    excess_cost: str | None = Field(default=None, description="cost - usual_cost, USD")
    multiple: float | None = Field(
        default=None, description="The metric's value / its usual value; null when the usual is 0"
    )
    robust_z: float | None = Field(
        default=None, description="Deviation in MAD units (x1.4826); null when the MAD is 0"
    )
    cost_mad: str | None = Field(default=None, description="MAD of the baseline cost, USD")
    tokens: int | None = Field(default=None, description="token_spike: the day's tokens")
    usual_tokens: int | None = Field(default=None, description="token_spike: the baseline median")
    tokens_mad: int | None = Field(default=None, description="token_spike: MAD of the baseline")
    events: int | None = Field(default=None, description="expensive_model: events on the model")
    cost_per_event: str | None = Field(
        default=None, description="expensive_model: on the model, USD"
    )
    usual_cost_per_event: str | None = Field(
        default=None, description="expensive_model: the user's usual cost per event, USD"
    )
    runs: int | None = Field(default=None, description="agent_failures: failed runs that day")
    usual_runs: float | None = Field(
        default=None, description="agent_failures: the baseline median of failed runs a day"
    )


class AnomalyLinks(BaseModel):
    usage: str = Field(description="The user's usage that day in the Unified Usage API")


class AnomalyOut(BaseModel):
    id: str
    integrated_account_id: str
    kind: AnomalyKind
    status: AnomalyStatus
    user_email: str
    day: dt.date
    model: str | None = Field(description="The new model (expensive_model), else null")
    run_id: str | None = Field(
        default=None, description="The runaway agent run (agent_runaway), else null"
    )
    details: AnomalyDetails
    event_ids: list[str] = Field(description="Up to 20 of the costliest events behind it")
    links: AnomalyLinks
    detected_at: str
    updated_at: str
