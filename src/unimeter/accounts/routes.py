"""HTTP routes of the platform API: integrated accounts and on-demand syncs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from unimeter.api.deps import PrincipalDep, RuntimeDep, account_in_scope
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError
from unimeter.api.pagination import ListResponse, envelope, read_cursor
from unimeter.connectors.contract import CredentialsShapeError
from unimeter.connectors.errors import CredentialsRejectedError, VendorUnavailableError
from unimeter.connectors.registry import UnknownIntegrationError
from unimeter.connectors.windows import BackfillStartError, check_backfill_start
from unimeter.db.keyset import slice_page
from unimeter.db.models import IntegratedAccount
from unimeter.kit.netpolicy import URLRefusedError, check_url
from unimeter.runtime import Runtime
from unimeter.sync.scheduling.dispatch import SyncDispatch
from unimeter.sync.schemas import SyncRequest, SyncRunOut

from . import repository, service
from .schemas import (
    AccountCreate,
    AccountOut,
    AccountStatus,
    AccountUpdate,
    Credentials,
    Deleted,
    IntegrationOut,
)

router = APIRouter(tags=["integrated accounts"], responses=COMMON_ERRORS)
VALIDATION: dict[int | str, dict[str, Any]] = {422: ERROR_SCHEMA, 502: ERROR_SCHEMA}


def _vendor_errors(exc: Exception) -> ApiError:
    if isinstance(exc, CredentialsShapeError):
        return ApiError(400, f"credentials.{exc}")
    if isinstance(exc, UnknownIntegrationError):
        return ApiError(422, str(exc), details={"known_integrations": list(exc.known)})
    if isinstance(exc, CredentialsRejectedError):
        return ApiError(422, str(exc))
    return ApiError(502, str(exc))


# What linking or re-keying can answer besides success (each becomes an error envelope).
_LINK_ERRORS = (
    CredentialsShapeError,
    UnknownIntegrationError,
    CredentialsRejectedError,
    VendorUnavailableError,
)


def _plain(credentials: Credentials) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in credentials.items()}


@router.get("/integrations", response_model=list[IntegrationOut])
async def list_integrations(runtime: RuntimeDep, principal: PrincipalDep) -> list[IntegrationOut]:
    """The vendors this server can link: their products, credential fields and streams."""
    return [IntegrationOut.of(c) for c in runtime.registry.all()]


@router.post(
    "/integrated-accounts",
    status_code=status.HTTP_201_CREATED,
    response_model=AccountOut,
    responses=VALIDATION,
)
async def create_account(
    body: AccountCreate, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> AccountOut:
    """Link a workspace: the key is validated with the vendor before anything is stored."""
    base_url = None
    if body.base_url:
        try:
            base_url = check_url(body.base_url, allow_private=runtime.settings.allow_private_urls)
        except URLRefusedError as exc:
            raise ApiError(400, f"base_url: {exc}") from exc
    link = service.LinkRequest(
        integration=body.integration,
        credentials=_plain(body.credentials),
        tenant_id=body.tenant_id,
        name=body.name,
        base_url=base_url,
        environment=principal.environment_name,
        sync_frequency_minutes=body.sync_frequency_minutes,
    )
    try:
        account = await service.link_account(runtime, link)
    except _LINK_ERRORS as exc:
        raise _vendor_errors(exc) from exc
    if request.app.state.auto_sync:
        await _dispatch(request).request(account.id, trigger="initial")
    return await _out(runtime, account)


@router.get("/integrated-accounts", response_model=ListResponse[AccountOut])
async def list_accounts(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    tenant_id: Annotated[str | None, Query(max_length=255)] = None,
    status: Annotated[AccountStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    filters = {"route": "accounts", "tenant_id": tenant_id, "status": status}
    position = read_cursor(request, next_cursor or cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_accounts(
            session,
            principal.environment_id,
            tenant_id=tenant_id,
            status=status,
            position=position,
            limit=limit,
        )
    page = slice_page(rows, limit, position, lambda a: [a.created_at, a.id])
    capabilities = await service.capabilities(runtime, page.items)
    return envelope(request, page, filters, lambda a: AccountOut.of(a, capabilities[a.id]))


@router.get("/integrated-accounts/{account_id}", response_model=AccountOut)
async def get_account(account_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> AccountOut:
    return await _out(runtime, await account_in_scope(runtime, principal, account_id))


@router.patch("/integrated-accounts/{account_id}", response_model=AccountOut, responses=VALIDATION)
async def update_account(
    account_id: str, body: AccountUpdate, runtime: RuntimeDep, principal: PrincipalDep
) -> AccountOut:
    """Rename, re-tag, change the sync cadence (``null``: on demand only), or rotate
    credentials (validated again before they are stored; an account in ``needs_reauth``
    becomes ``active`` and syncs at once)."""
    account = await account_in_scope(runtime, principal, account_id)
    credentials = _plain(body.credentials) if body.credentials else None
    frequency = (
        body.sync_frequency_minutes
        if "sync_frequency_minutes" in body.model_fields_set
        else service.UNSET
    )
    try:
        updated = await service.update_account(
            runtime,
            account,
            name=body.name,
            tenant_id=body.tenant_id,
            credentials=credentials,
            sync_frequency_minutes=frequency,
        )
    except _LINK_ERRORS as exc:
        raise _vendor_errors(exc) from exc
    return await _out(runtime, updated)


@router.delete("/integrated-accounts/{account_id}", response_model=Deleted)
async def delete_account(account_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> Deleted:
    """Remove the account and every row synced for it."""
    account = await account_in_scope(runtime, principal, account_id)
    await service.remove_account(runtime, account.id)
    return Deleted(id=account.id)


@router.post(
    "/integrated-accounts/{account_id}/sync",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncRunOut,
    responses={409: ERROR_SCHEMA},
)
async def request_sync(
    account_id: str,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    body: SyncRequest | None = None,
) -> SyncRunOut:
    """Start a sync now, or join the one already queued or running."""
    account = await account_in_scope(runtime, principal, account_id)
    if account.status == "needs_reauth":
        raise ApiError(
            409,
            "the account needs new credentials (the vendor rejected the stored key): "
            "PATCH /integrated-accounts/{id} with new credentials",
        )
    body = body or SyncRequest(full=False, since=None)
    since_ms = None
    if body.since is not None:
        since = dt.datetime(body.since.year, body.since.month, body.since.day, tzinfo=dt.UTC)
        try:
            since_ms = check_backfill_start(int(since.timestamp() * 1000), runtime.clock())
        except BackfillStartError as exc:
            raise ApiError(400, f"since: {exc}") from exc
    run, _ = await _dispatch(request).request(account.id, full=body.full, since_ms=since_ms)
    return SyncRunOut.of(run)


async def _out(runtime: Runtime, account: IntegratedAccount) -> AccountOut:
    capabilities = await service.capabilities(runtime, [account])
    return AccountOut.of(account, capabilities[account.id])


def _dispatch(request: Request) -> SyncDispatch:
    dispatch: SyncDispatch = request.app.state.sync_dispatch
    return dispatch
