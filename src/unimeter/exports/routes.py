"""HTTP routes of the FinOps exports (``/exports/...``): files, streamed as they are written."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from unimeter.analytics.chargeback import ChargeBy, SourceChoice
from unimeter.analytics.routes import ProductQuery, scope_of
from unimeter.analytics.schemas import ConsumptionDimension, Granularity
from unimeter.api.deps import PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, bad_request
from unimeter.api.params import Day
from unimeter.runtime import Runtime

from . import finops, productivity, tables
from .finops import ExportError, Table

router = APIRouter(prefix="/exports", tags=["exports"], responses={**COMMON_ERRORS})

AccountQuery = Annotated[
    str | None, Query(description="One integrated account (or give tenant_id)", max_length=64)
]
TenantQuery = Annotated[
    str | None, Query(description="Every account of this tenant_id", min_length=1, max_length=255)
]
StartQuery = Annotated[
    Day | None, Query(description="Inclusive (UTC day); default 30 days before end_date")
]
EndQuery = Annotated[Day | None, Query(description="Exclusive (UTC day); default tomorrow")]
FormatQuery = Annotated[Literal["csv", "parquet"], Query(description="csv or parquet")]

FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export as a file (attachment)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _range(runtime: Runtime, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    try:
        return finops.date_range(runtime, start, end)
    except ExportError as exc:
        raise bad_request(str(exc)) from exc


async def _file(table: Table, fmt: tables.Format) -> StreamingResponse:
    # The first chunk is made before the status line is sent: a failure while the query
    # starts becomes an error envelope, not a 200 whose body breaks off.
    chunks = tables.write(fmt, table.columns, table.rows())
    first = await anext(chunks, b"")

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=tables.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{table.name}.{fmt}"'},
    )


@router.get("/focus", response_model=None, response_class=StreamingResponse, responses=FILE)
async def focus(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    format: FormatQuery = "csv",
) -> StreamingResponse:
    """Cost and usage as FOCUS 1.2 rows: one per account, UTC day, user and model, from the
    synced rollups. BilledCost is the usage-based (invoiced) part; EffectiveCost is the
    whole charge, included usage being prepaid by the seat fee. Products whose charges the
    vendor only estimates have no rows (FOCUS is invoice-grade)."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date)
    return await _file(finops.focus(runtime, scope, start, end), format)


@router.get("/consumption", response_model=None, response_class=StreamingResponse, responses=FILE)
async def consumption(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    group_by: Annotated[list[ConsumptionDimension] | None, Query(alias="group_by[]")] = None,
    granularity: Granularity = "day",
    format: FormatQuery = "csv",
) -> StreamingResponse:
    """The rows of ``/analytics/consumption`` (all of them) as a file."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date)
    dims = tuple(dict.fromkeys(group_by or finops.DIMENSIONS))
    try:
        table = finops.consumption(runtime, scope, start, end, dims=dims, granularity=granularity)
    except ExportError as exc:
        raise bad_request(str(exc)) from exc
    return await _file(table, format)


@router.get("/chargeback", response_model=None, response_class=StreamingResponse, responses=FILE)
async def chargeback(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    by: ChargeBy = "team",
    granularity: Granularity = "month",
    source: Annotated[SourceChoice, Query(description="auto: the directory if any")] = "auto",
    format: FormatQuery = "csv",
) -> StreamingResponse:
    """The rows of ``/analytics/chargeback`` as a file: cost per team or cost center per
    period, the unallocated bucket with an empty name."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date)
    try:
        table = await finops.chargeback(
            runtime, scope, start, end, by=by, granularity=granularity, source=source
        )
    except ExportError as exc:
        raise bad_request(str(exc)) from exc
    return await _file(table, format)


@router.get("/productivity", response_model=None, response_class=StreamingResponse, responses=FILE)
async def productivity_export(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    format: FormatQuery = "csv",
) -> StreamingResponse:
    """One row per person and ISO week: AI usage (requests, tokens, cost), committed lines
    by origin, commits and cloud-agent runs."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date)
    return await _file(productivity.productivity(runtime, scope, start, end), format)
