"""HTTP routes of the analytics (``/analytics/...``), per account or across a tenant."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from unimeter.api.deps import AccountDep, PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ApiError, bad_request
from unimeter.api.pagination import ListResponse, codec, envelope, read_cursor
from unimeter.api.params import Day
from unimeter.api.responses import JSON
from unimeter.kit.cursors import query_fingerprint
from unimeter.kit.money import dollars, parse_dollars
from unimeter.runtime import Runtime

from .. import adoption, anomalies, audit, render, service
from .. import chargeback as charges
from .. import people as persons
from .. import settings as account_settings
from ..chargeback import ChargeBy, SourceChoice
from ..directory import DirectoryError
from ..schemas import (
    AnomalyKind,
    AnomalyOut,
    AnomalyStatus,
    AnomalyUpdate,
    ConsumptionDimension,
    ConsumptionOut,
    Granularity,
    SeatsOut,
    SettingsOut,
    SettingsUpdate,
)
from ..settings import AccountSettings

router = APIRouter(prefix="/analytics", tags=["analytics"], responses={**COMMON_ERRORS})

AccountQuery = Annotated[
    str | None, Query(description="One integrated account (or give tenant_id)", max_length=64)
]
TenantQuery = Annotated[
    str | None, Query(description="Every account of this tenant_id", min_length=1, max_length=255)
]
ProductQuery = Annotated[
    list[str] | None,
    Query(alias="product", description="Only this product (tool); repeat for several"),
]


async def scope_of(
    runtime: Runtime,
    environment_id: str,
    account_id: str | None,
    tenant_id: str | None,
    products: list[str] | None = None,
) -> service.Scope:
    try:
        return await service.resolve_scope(
            runtime, environment_id, integrated_account_id=account_id, tenant_id=tenant_id,
            products=products,
        )  # fmt: skip
    except service.ScopeError as exc:
        raise bad_request(str(exc)) from exc
    except service.ScopeNotFoundError as exc:
        raise ApiError(404, str(exc)) from exc


@router.get(
    "/seats", response_model=None, response_class=JSON, responses={200: {"model": SeatsOut}}
)
async def seats(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    as_of: Annotated[Day | None, Query(description="Last day of the windows (UTC)")] = None,
    idle_days: Annotated[int, Query(ge=1, le=365, description="Idle after this many")] = 30,
) -> JSON:
    """Seat utilization: provisioned, active in 7 and 30 days, idle and never-used seats."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    report = await service.seats(runtime, scope, as_of or service.today(runtime), idle_days)
    return JSON(render.seats(report))


@router.get(
    "/consumption",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": ConsumptionOut}},
)
async def consumption(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: Annotated[Day | None, Query(description="Inclusive (UTC day)")] = None,
    end_date: Annotated[Day | None, Query(description="Exclusive (UTC day)")] = None,
    group_by: Annotated[list[ConsumptionDimension] | None, Query(alias="group_by[]")] = None,
    granularity: Granularity = "day",
    emails: Annotated[list[str] | None, Query(alias="emails[]")] = None,
    model_ids: Annotated[list[str] | None, Query(alias="model_ids[]")] = None,
    top: Annotated[int | None, Query(ge=1, le=1000, description="Only the N costliest")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    next_cursor: str | None = None,
) -> JSON:
    """Tokens and cost by user, model and period, from the synced rollups."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    dims = tuple(dict.fromkeys(group_by or ("user", "model")))
    start, end = _range(runtime, start_date, end_date, 30)
    q = service.consumption_query(scope, start, end, dims, granularity, emails, model_ids)
    filters: dict[str, Any] = {
        "route": "analytics/consumption", **scope.describe(), "start": start.isoformat(),
        "end": end.isoformat(), "dims": list(dims), "granularity": granularity,
        "emails": emails, "models": model_ids, "top": top,
    }  # fmt: skip
    position = read_cursor(request, next_cursor, filters)
    after = service.cursor_key(position.key) if position else None
    page = await service.consumption(runtime, q, limit=limit, after=after, top=top)
    body = {"scope": scope.describe(), **render.consumption(
        page, granularity=granularity, start=start, end=end, dims=dims
    )}  # fmt: skip
    fingerprint = query_fingerprint(filters)
    body["next_cursor"] = (
        codec(request).encode(page.next_key, "next", fingerprint) if page.next_key else None
    )
    return JSON(body)


@router.get("/people", response_model=None, response_class=JSON)
async def people(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: Annotated[Day | None, Query(description="Inclusive (UTC day)")] = None,
    end_date: Annotated[Day | None, Query(description="Exclusive (UTC day)")] = None,
    as_of: Annotated[
        Day | None, Query(description="Seats held on this day; default the range's last day")
    ] = None,
    sort: Annotated[persons.Sort, Query(description="-cost: costliest first")] = "-cost",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
) -> JSON:
    """Each person across the scope's tools (emails matched case-insensitively, directory
    aliases resolved): the products they hold a seat in, and per product cost, tokens and
    active days. Estimated charges count, flagged ``estimated``. The summary counts people
    and seats per tool and the people holding several tools."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date, 30)
    day = as_of or end - dt.timedelta(days=1)
    filters: dict[str, Any] = {
        "route": "analytics/people", **scope.describe(), "start": start.isoformat(),
        "end": end.isoformat(), "as_of": day.isoformat(), "sort": sort,
    }  # fmt: skip
    position = read_cursor(request, next_cursor, filters)
    report = await persons.people(runtime, scope, start=start, end=end, as_of=day, sort=sort)
    rest = persons.after(report.people, position.key, sort) if position else report.people
    page = rest[:limit]
    next_key = persons.sort_key(page[-1], sort) if len(rest) > limit and page else None
    fingerprint = query_fingerprint(filters)
    return JSON({
        "scope": scope.describe(),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "as_of": day.isoformat(),
        "sort": sort,
        "summary": persons.summary(report),
        "result": [persons.person_body(p, report.names) for p in page],
        "next_cursor": codec(request).encode(next_key, "next", fingerprint) if next_key else None,
    })  # fmt: skip


def _settings(account_id: str, settings: AccountSettings) -> dict[str, Any]:
    price = settings.seat_price_cents_e6
    return {
        "integrated_account_id": account_id,
        "seat_price": {"amount": dollars(price), "currency": "USD"} if price is not None else None,
        "allowed_admins": list(settings.allowed_admins)
        if settings.allowed_admins is not None
        else None,
        "anomaly_thresholds": settings.anomaly.model_dump(),
    }


@router.get(
    "/settings", response_model=None, response_class=JSON, responses={200: {"model": SettingsOut}}
)
async def get_settings(runtime: RuntimeDep, account: AccountDep) -> JSON:
    """An account's analytics settings."""
    return JSON(_settings(account.id, await account_settings.get(runtime, account.id)))


@router.patch(
    "/settings", response_model=None, response_class=JSON, responses={200: {"model": SettingsOut}}
)
async def update_settings(runtime: RuntimeDep, account: AccountDep, body: SettingsUpdate) -> JSON:
    """Set what vendors do not expose (a seat's price), who may hold admin roles, and
    anomaly thresholds. Only the fields sent change."""
    changes: dict[str, Any] = {}
    sent = body.model_fields_set
    if "seat_price" in sent:
        try:
            price = parse_dollars(body.seat_price) if body.seat_price is not None else None
        except ValueError as exc:
            raise bad_request(f"seat_price: {exc}") from exc
        changes["seat_price_cents_e6"] = price
    if "allowed_admins" in sent:
        admins = body.allowed_admins
        changes["allowed_admins"] = (
            sorted({a.strip().lower() for a in admins}) if admins is not None else None
        )
    if "anomaly_thresholds" in sent:
        thresholds = body.anomaly_thresholds
        if thresholds is not None:
            for name in ("min_cost", "model_min_cost", "headless_min_cost"):
                try:
                    parse_dollars(getattr(thresholds, name))
                except ValueError as exc:
                    raise bad_request(f"anomaly_thresholds.{name}: {exc}") from exc
        changes["anomaly"] = thresholds.model_dump(exclude_defaults=True) if thresholds else None
    settings = await account_settings.update(runtime, account.id, changes)
    return JSON(_settings(account.id, settings))


def _range(
    runtime: Runtime, start_date: dt.date | None, end_date: dt.date | None, default_days: int
) -> tuple[dt.date, dt.date]:
    try:
        return service.date_range(runtime, start_date, end_date, default_days)
    except service.RangeError as exc:
        raise bad_request(str(exc)) from exc


@router.get("/chargeback", response_model=None, response_class=JSON)
async def chargeback(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: Annotated[Day | None, Query(description="Inclusive (UTC day)")] = None,
    end_date: Annotated[Day | None, Query(description="Exclusive (UTC day)")] = None,
    by: ChargeBy = "team",
    granularity: Granularity = "month",
    source: Annotated[SourceChoice, Query(description="auto: the directory if any")] = "auto",
) -> JSON:
    """Cost per team or cost center per period, with an explicit unallocated bucket."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date, 90)
    try:
        report = await charges.chargeback(
            runtime, scope, start=start, end=end, by=by, granularity=granularity, source=source
        )
    except charges.ChargebackError as exc:
        raise bad_request(str(exc)) from exc
    return JSON({"scope": scope.describe(), **render.chargeback(
        report, granularity=granularity, start=start, end=end
    )})  # fmt: skip


@router.get("/reconciliation", response_model=None, response_class=JSON)
async def reconciliation(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
) -> JSON:
    """Billed spend per member and cycle against the sum of the stored events' charges."""
    scope = await scope_of(runtime, principal.environment_id, integrated_account_id, tenant_id)
    cycles = await charges.reconcile(runtime, scope)
    return JSON({"scope": scope.describe(), **render.reconciliation(cycles)})


@router.get("/team-mapping", response_model=None, response_class=JSON)
async def team_mapping(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    source: Annotated[SourceChoice, Query(description="auto: the directory if any")] = "auto",
    email: Annotated[str | None, Query(max_length=320)] = None,
) -> JSON:
    """Who belonged to which team and cost center, and when (days inclusive, UTC)."""
    scope = await scope_of(runtime, principal.environment_id, integrated_account_id, tenant_id)
    maps, notes = await charges.team_maps_noted(runtime, scope, source)
    return JSON({"scope": scope.describe(), **render.team_mapping(maps, email, notes)})


@router.get("/adoption", response_model=None, response_class=JSON)
async def adoption_scorecards(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: Annotated[Day | None, Query(description="Inclusive (UTC day)")] = None,
    end_date: Annotated[Day | None, Query(description="Exclusive (UTC day); default today")] = None,
    source: Annotated[SourceChoice, Query(description="auto: the directory if any")] = "auto",
) -> JSON:
    """Adoption per team: DAU/WAU/MAU, acceptance, feature shares, cohorts, and the change
    against the period before."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    end = end_date or service.today(runtime)
    start, end = _range(runtime, start_date, end, 30)
    body = await adoption.adoption(runtime, scope, start=start, end=end, source=source)
    return JSON({"scope": scope.describe(), **body})


@router.get("/audit", response_model=None, response_class=JSON)
async def provisioning_audit(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    as_of: Annotated[Day | None, Query(description="The day to audit (UTC)")] = None,
) -> JSON:
    """Findings with evidence: seats missing from the directory, offboarded people holding
    a seat, admins outside the allow-list, usage after removal, never-active seats."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    day = as_of or service.today(runtime)
    findings = await audit.audit(runtime, scope, day)
    return JSON({"scope": scope.describe(), **render.audit(findings, day)})


@router.get(
    "/anomalies",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": ListResponse[AnomalyOut]}},
)
async def list_anomalies(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    status: Annotated[AnomalyStatus | None, Query()] = None,
    kind: Annotated[AnomalyKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
) -> JSON:
    """Anomalies found after each sync, newest first."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    filters = {"route": "anomalies", **scope.describe(), "status": status, "kind": kind}
    position = read_cursor(request, next_cursor, filters)
    page = await anomalies.page(
        runtime, scope.account_ids, status=status, kind=kind, position=position, limit=limit
    )
    return JSON(envelope(request, page, filters, anomalies.render))


@router.get(
    "/anomalies/{anomaly_id}",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": AnomalyOut}},
)
async def get_anomaly(anomaly_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> JSON:
    found = await anomalies.get(runtime, principal.environment_id, anomaly_id)
    if found is None:
        raise ApiError(404, "anomaly not found")
    return JSON(anomalies.render(found))


@router.patch(
    "/anomalies/{anomaly_id}",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": AnomalyOut}},
)
async def update_anomaly(
    anomaly_id: str, body: AnomalyUpdate, runtime: RuntimeDep, principal: PrincipalDep
) -> JSON:
    """Acknowledge or resolve an anomaly (or reopen it)."""
    found = await anomalies.set_status(runtime, principal.environment_id, anomaly_id, body.status)
    if found is None:
        raise ApiError(404, "anomaly not found")
    return JSON(anomalies.render(found))


# --- directory -----------------------------------------------------------------------------

directory_router = APIRouter(prefix="/directory", tags=["analytics"], responses=COMMON_ERRORS)
MAX_DIRECTORY_BYTES = 10 * 1024 * 1024


async def _read_capped(request: Request, cap: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise ApiError(413, f"a directory upload is at most {cap // (1024 * 1024)} MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise ApiError(413, f"a directory upload is at most {cap // (1024 * 1024)} MB")
    return bytes(body)


@directory_router.put(
    "",
    response_model=None,
    response_class=JSON,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def replace_directory(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
) -> JSON:
    """Replace the directory (CSV or JSON: email, name, team, cost_center, status, and
    optional valid_from / valid_to) of an account, or of every account of a tenant. A bad
    upload changes nothing and answers 400 with every problem by line."""
    scope = await scope_of(runtime, principal.environment_id, integrated_account_id, tenant_id)
    body = await _read_capped(request, MAX_DIRECTORY_BYTES)
    content_type = request.headers.get("content-type", "text/csv").lower()
    try:
        entries = await charges.replace_directory(runtime, scope, body, content_type)
    except DirectoryError as exc:
        problems = [{"line": line, "message": message} for line, message in exc.errors]
        raise bad_request(str(exc), problems=problems, total=exc.total) from exc
    return JSON({"scope": scope.describe(), "entries": len(entries),
                 "accounts": list(scope.account_ids)})  # fmt: skip


@directory_router.get("", response_model=None, response_class=JSON)
async def get_directory(runtime: RuntimeDep, account: AccountDep) -> JSON:
    """The account's directory as uploaded."""
    entries = await charges.directory_entries(runtime, account.id)
    return JSON({"integrated_account_id": account.id, "result": entries})
