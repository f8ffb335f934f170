"""HTTP routes of the Unified Usage Metering API (``/unified/usage-metering/...``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.accounts import service as accounts
from unimeter.api.deps import AccountRead, AccountReadDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError, bad_request, not_found
from unimeter.api.pagination import codec, read_cursor
from unimeter.api.params import Moment
from unimeter.api.responses import JSON
from unimeter.connectors.errors import (
    CredentialsRejectedError,
    SourceError,
    VendorUnavailableError,
)
from unimeter.kit.cursors import query_fingerprint
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncAuthError

from . import repository, service
from .live import LIVE_MAX_DAYS, live_store
from .schemas import (
    Dimension,
    Granularity,
    Mode,
    ResponseFormat,
    UnifiedUsage,
    UnifiedUser,
    UsageList,
    UserList,
    UserStatus,
)

router = APIRouter(
    prefix="/unified/usage-metering",
    tags=["unified usage metering"],
    responses={**COMMON_ERRORS, 502: ERROR_SCHEMA},
)

ListQuery = Annotated[list[str], Query()]


def _plain(name: str) -> Any:
    """``name=a,b`` besides ``name[]=a``: accepted, declared (so not unknown), undocumented."""
    return Query(alias=name, include_in_schema=False)


def _both(bracketed: list[str], plain: list[str]) -> tuple[str, ...]:
    """Accept ``user_ids[]=a&user_ids[]=b``, ``user_ids=a`` and comma-separated values."""
    values = [v for item in (*bracketed, *plain) for v in item.split(",")]
    return tuple(v.strip() for v in values if v.strip())


def _today(runtime: Runtime) -> dt.date:
    return dt.datetime.fromtimestamp(runtime.clock() / 1000, tz=dt.UTC).date()


@asynccontextmanager
async def _reader(
    runtime: Runtime, read: AccountRead, mode: str, streams: frozenset[str],
    start: dt.date | None = None, end: dt.date | None = None,
) -> AsyncIterator[AsyncSession]:  # fmt: skip
    """The stored data: the session that found the account; live: a throw-away store."""
    if mode == "stored":
        yield read.session
        return
    account = read.account
    try:
        accounts.ensure_usable(account)
    except accounts.NeedsReauthError as exc:
        raise ApiError(401, str(exc), remote=True) from exc
    try:
        async with live_store(runtime, account, streams, start, end) as db, db.reader() as session:
            yield session
    except (SyncAuthError, CredentialsRejectedError) as exc:
        await accounts.credentials_rejected(runtime, account.id, str(exc))
        raise ApiError(
            401, f"the vendor rejected the account's credentials: {exc}", remote=True
        ) from exc
    except (SourceError, VendorUnavailableError) as exc:
        raise ApiError(502, f"live read failed: {exc}", remote=True) from exc


def _listing(request: Request, listing: service.Listing, filters: dict[str, Any]) -> dict[str, Any]:
    fingerprint = query_fingerprint(filters)
    cursors = codec(request)
    page = listing.page
    return {
        "result": listing.records,
        "next_cursor": cursors.encode(page.next_key, "next", fingerprint)
        if page.next_key
        else None,
        "prev_cursor": cursors.encode(page.prev_key, "prev", fingerprint)
        if page.prev_key
        else None,
        "result_count": len(listing.records),
    }


@router.get(
    "/users", response_model=None, response_class=JSON, responses={200: {"model": UserList}}
)
async def list_users(
    request: Request,
    runtime: RuntimeDep,
    read: AccountReadDep,
    status: Annotated[UserStatus | None, Query()] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    updated_after: Annotated[Moment | None, Query(description="RFC 3339")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
    exclude_fields: Annotated[list[str] | None, Query(alias="exclude_fields[]")] = None,
    response_format: ResponseFormat = "unified",
    mode: Mode = "stored",
) -> JSON:
    """Members (seats) of the linked workspace."""
    account = read.account
    if updated_after is not None and updated_after.tzinfo is None:
        raise bad_request("updated_after needs a time zone (for example Z)")
    filters = {"route": "users", "account": account.id, "status": status, "email": email,
               "updated_after": updated_after.isoformat() if updated_after else None}  # fmt: skip
    position = read_cursor(request, next_cursor or cursor, filters)
    after_ms = int(updated_after.timestamp() * 1000) if updated_after else None
    async with _reader(runtime, read, mode, frozenset({"members", "spend"})) as session:
        listing = await service.list_users(
            session, account, status=status, email=email, updated_after=after_ms,
            position=position, limit=limit, exclude_fields=tuple(exclude_fields or ()),
            raw=response_format == "raw",
        )  # fmt: skip
    return JSON(_listing(request, listing, filters))


@router.get(
    "/users/{user_id}",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": UnifiedUser}},
)
async def get_user(
    user_id: str,
    read: AccountReadDep,
    exclude_fields: Annotated[list[str] | None, Query(alias="exclude_fields[]")] = None,
    response_format: ResponseFormat = "unified",
) -> JSON:
    member = await repository.member_by_remote_id(read.session, read.account.id, user_id)
    if member is None:
        raise not_found("user")
    [record] = await service.render_users(
        read.session, read.account, [member], tuple(exclude_fields or ()),
        response_format == "raw", every_column=True,
    )  # fmt: skip
    return JSON(record)


def _usage_params(
    start_date: str | None, end_date: str | None, user_ids: tuple[str, ...], emails: tuple[str, ...],
    model_ids: tuple[str, ...], surfaces: tuple[str, ...], group_by: tuple[str, ...],
    granularity: str, include_inactive: bool, include_remote_data: bool,
    exclude_fields: tuple[str, ...], response_format: str,
) -> service.UsageParams:  # fmt: skip
    return service.UsageParams(
        start_date=start_date, end_date=end_date, user_ids=user_ids, emails=emails,
        model_ids=model_ids, surfaces=surfaces, group_by=group_by or ("user",),
        granularity=granularity, include_inactive=include_inactive,
        include_remote_data=include_remote_data, exclude_fields=exclude_fields,
        response_format=response_format,
    )  # fmt: skip


@router.get(
    "/usage", response_model=None, response_class=JSON, responses={200: {"model": UsageList}}
)
async def list_usage(
    request: Request,
    runtime: RuntimeDep,
    read: AccountReadDep,
    start_date: Annotated[
        str | None, Query(description="Inclusive; YYYY-MM-DD or RFC 3339")
    ] = None,
    end_date: Annotated[str | None, Query(description="Exclusive; YYYY-MM-DD or RFC 3339")] = None,
    user_ids: Annotated[list[str] | None, Query(alias="user_ids[]")] = None,
    emails: Annotated[list[str] | None, Query(alias="emails[]")] = None,
    model_ids: Annotated[list[str] | None, Query(alias="model_ids[]")] = None,
    surfaces: Annotated[list[str] | None, Query(alias="surfaces[]")] = None,
    group_by: Annotated[list[Dimension] | None, Query(alias="group_by[]")] = None,
    granularity: Granularity = "day",
    include_inactive: bool = False,
    include_remote_data: bool = False,
    exclude_fields: Annotated[list[str] | None, Query(alias="exclude_fields[]")] = None,
    response_format: ResponseFormat = "unified",
    mode: Mode = "stored",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
    user_ids_plain: Annotated[list[str] | None, _plain("user_ids")] = None,
    emails_plain: Annotated[list[str] | None, _plain("emails")] = None,
    model_ids_plain: Annotated[list[str] | None, _plain("model_ids")] = None,
    surfaces_plain: Annotated[list[str] | None, _plain("surfaces")] = None,
    group_by_plain: Annotated[list[str] | None, _plain("group_by")] = None,
) -> JSON:
    """Per-period usage records; the default grain is (user, product, day)."""
    account = read.account
    params = _usage_params(
        start_date, end_date, _both(user_ids or [], user_ids_plain or []),
        _both(emails or [], emails_plain or []), _both(model_ids or [], model_ids_plain or []),
        _both(surfaces or [], surfaces_plain or []),
        tuple(group_by or ()) + _both([], group_by_plain or []), granularity,
        include_inactive, include_remote_data, tuple(exclude_fields or ()), response_format,
    )  # fmt: skip
    filters = {"route": "usage", "account": account.id, "mode": mode, **params.filters()}
    position = read_cursor(request, next_cursor or cursor, filters)
    max_days = LIVE_MAX_DAYS if mode == "live" else service.MAX_STORED_DAYS
    try:
        start, end = service.date_range(params, _today(runtime), max_days=max_days)
    except service.UsageParamsError as exc:
        raise bad_request(str(exc)) from exc
    streams = service.usage_streams(runtime, account)
    async with _reader(runtime, read, mode, streams, start, end) as session:
        try:
            listing = await service.list_usage(
                runtime,
                session,
                account,
                params,
                position,
                limit,
                today=_today(runtime),
                max_days=max_days,
            )
        except service.UsageParamsError as exc:
            raise bad_request(str(exc)) from exc
    return JSON(_listing(request, listing, filters))


@router.get(
    "/usage/{usage_id}",
    response_model=None,
    response_class=JSON,
    responses={200: {"model": UnifiedUsage}},
)
async def get_usage(
    usage_id: str,
    runtime: RuntimeDep,
    read: AccountReadDep,
    include_remote_data: bool = False,
    exclude_fields: Annotated[list[str] | None, Query(alias="exclude_fields[]")] = None,
    response_format: ResponseFormat = "unified",
) -> JSON:
    params = service.UsageParams(
        include_remote_data=include_remote_data,
        exclude_fields=tuple(exclude_fields or ()),
        response_format=response_format,
    )
    record = await service.get_usage(runtime, read.session, read.account, usage_id, params)
    if record is None:
        raise not_found("usage record")
    return JSON(record)
