"""What the MCP tools return: the API's bodies as typed models (structured output).

Each model holds exactly what the matching ``/analytics/...`` route returns for the same
arguments, minus its pagination cursor: a tool answers one page and says whether more rows
were left out (``truncated``). Amounts are exact decimal USD strings, as in the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from unimeter.accounts.schemas import AccountOut
from unimeter.analytics.schemas import (
    AnomalyOut,
    ConsumptionDimension,
    ConsumptionRow,
    ConsumptionTotals,
    Granularity,
    ScopeOut,
    SeatsOut,
)

TRUNCATED = "True when rows beyond `limit` were left out: raise limit or narrow the range"


class _Open(BaseModel):
    # The analyses add fields as they grow (a breakdown, a note): keep them all.
    model_config = ConfigDict(extra="allow")


class AccountsAnswer(BaseModel):
    result: list[AccountOut] = Field(description="The environment's integrated accounts")


class SeatsAnswer(SeatsOut):
    by_product: list[dict[str, Any]] | None = Field(
        None, description="With several tools in scope: each tool's seat counts"
    )


class ConsumptionAnswer(BaseModel):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    granularity: Granularity
    group_by: list[ConsumptionDimension]
    result: list[ConsumptionRow]
    totals: ConsumptionTotals = Field(description="The whole range, whatever the limit")
    others: ConsumptionTotals | None = Field(
        description="With top: what the groups outside the top add"
    )
    truncated: bool = Field(description=TRUNCATED)


class ChargeRow(ConsumptionTotals, _Open):
    period_start: dt.date
    period_end: dt.date = Field(description="Exclusive")
    unallocated: bool = Field(description="Cost of people no team (or cost center) claims")
    users: int
    products: list[dict[str, Any]] = Field(description="Each tool's part of the bucket")


class ChargebackAnswer(_Open):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    by: Literal["team", "cost_center"]
    granularity: Granularity
    result: list[ChargeRow]
    totals: dict[str, Any]


class AnomaliesAnswer(BaseModel):
    result: list[AnomalyOut] = Field(description="Newest first")
    truncated: bool = Field(description=TRUNCATED)


class AdoptionAnswer(_Open):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    previous_start_date: dt.date = Field(description="The period compared against")
    result: list[dict[str, Any]] = Field(description="One scorecard per team")
    all: dict[str, Any] = Field(description="The scorecard of everyone in scope")


class AiCodeAnswer(_Open):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    totals: dict[str, Any]
    result: list[dict[str, Any]] = Field(description="Lines per group and period")
    truncated: bool = Field(description=TRUNCATED)


class PeopleAnswer(_Open):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    as_of: dt.date = Field(description="Seats held on this day")
    summary: dict[str, Any]
    result: list[dict[str, Any]] = Field(description="One row per person")
    truncated: bool = Field(description=TRUNCATED)


class AuditAnswer(_Open):
    scope: ScopeOut
    as_of: dt.date = Field(description="The day audited")
    counts: dict[str, int | None] = Field(
        description="Findings per type; null where a type could not be checked (see notes)"
    )
    notes: list[dict[str, Any]]
    result: list[dict[str, Any]] = Field(description="One finding each, with its evidence")


class ReconciliationAnswer(_Open):
    scope: ScopeOut
    cycles: list[dict[str, Any]] = Field(
        description="Per account and billing cycle: billed, the events' sum, and the drift"
    )


class AgentsAnswer(_Open):
    scope: ScopeOut
    start_date: dt.date
    end_date: dt.date = Field(description="Exclusive")
    totals: dict[str, Any]
    by_team: list[dict[str, Any]]
    result: list[dict[str, Any]] = Field(description="One row per person")
    truncated: bool = Field(description=TRUNCATED)
