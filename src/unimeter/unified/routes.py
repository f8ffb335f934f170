"""HTTP routes of the Unified Usage Metering API (``/unified/usage-metering/...``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.accounts import service as accounts
from unimeter.api.deps import (
    AccountQuery,
    AccountRead,
    AccountReadDep,
    RuntimeDep,
    account_read,
    parse_account_query,
    runtime_of,
)
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError, bad_request, not_found
from unimeter.api.pagination import codec, read_cursor
from unimeter.api.params import Moment
from unimeter.api.query_models import ModelQueryRoute, takes, undocumented
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
    route_class=ModelQueryRoute,
    tags=["unified usage metering"],
    responses={**COMMON_ERRORS, 502: ERROR_SCHEMA},
)


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


Q = TypeVar("Q", bound=AccountQuery)


async def _answer(
    request: Request, model: type[Q], answer: Callable[[Request, Q, AccountRead], Awaitable[JSON]]
) -> JSON:
    """A route that parses its own parameters: them, then the account they name, read."""
    q = await parse_account_query(request, model)
    async with account_read(request, q.integrated_account_id) as read:
        return await answer(request, q, read)


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


class UsersQuery(AccountQuery):
    status: UserStatus | None = None
    email: str | None = Field(None, max_length=320)
    updated_after: Moment | None = Field(None, description="RFC 3339")
    limit: int = Field(100, ge=1, le=1000)
    next_cursor: str | None = None
    cursor: str | None = Field(None, description="Alias of next_cursor")
    exclude_fields: list[str] | None = Field(None, alias="exclude_fields[]")
    response_format: ResponseFormat = "unified"
    mode: Mode = "stored"


@router.get(
    "/users", response_model=None, response_class=JSON, responses={200: {"model": UserList}}
)
@takes(UsersQuery)
async def list_users(request: Request) -> JSON:
    """Members (seats) of the linked workspace."""
    return await _answer(request, UsersQuery, _users)


async def _users(request: Request, q: UsersQuery, read: AccountRead) -> JSON:
    account, runtime = read.account, runtime_of(request)
    if q.updated_after is not None and q.updated_after.tzinfo is None:
        raise bad_request("updated_after needs a time zone (for example Z)")
    filters = {"route": "users", "account": account.id, "status": q.status, "email": q.email,
               "updated_after": q.updated_after.isoformat() if q.updated_after else None}  # fmt: skip
    position = read_cursor(request, q.next_cursor or q.cursor, filters)
    after_ms = int(q.updated_after.timestamp() * 1000) if q.updated_after else None
    async with _reader(runtime, read, q.mode, frozenset({"members", "spend"})) as session:
        listing = await service.list_users(
            session, account, status=q.status, email=q.email, updated_after=after_ms,
            position=position, limit=q.limit, exclude_fields=tuple(q.exclude_fields or ()),
            raw=q.response_format == "raw",
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


class UsageQuery(AccountQuery):
    start_date: str | None = Field(None, description="Inclusive; YYYY-MM-DD or RFC 3339")
    end_date: str | None = Field(None, description="Exclusive; YYYY-MM-DD or RFC 3339")
    user_ids: list[str] | None = Field(None, alias="user_ids[]")
    emails: list[str] | None = Field(None, alias="emails[]")
    model_ids: list[str] | None = Field(None, alias="model_ids[]")
    surfaces: list[str] | None = Field(None, alias="surfaces[]")
    group_by: list[Dimension] | None = Field(None, alias="group_by[]")
    granularity: Granularity = "day"
    include_inactive: bool = False
    include_remote_data: bool = False
    exclude_fields: list[str] | None = Field(None, alias="exclude_fields[]")
    response_format: ResponseFormat = "unified"
    mode: Mode = "stored"
    limit: int = Field(100, ge=1, le=1000)
    next_cursor: str | None = None
    cursor: str | None = Field(None, description="Alias of next_cursor")
    # ``name=a,b`` besides ``name[]=a``: accepted, undocumented.
    user_ids_plain: list[str] | None = undocumented("user_ids")
    emails_plain: list[str] | None = undocumented("emails")
    model_ids_plain: list[str] | None = undocumented("model_ids")
    surfaces_plain: list[str] | None = undocumented("surfaces")
    group_by_plain: list[str] | None = undocumented("group_by")

    def usage_params(self) -> service.UsageParams:
        return service.UsageParams(
            start_date=self.start_date, end_date=self.end_date,
            user_ids=_both(self.user_ids or [], self.user_ids_plain or []),
            emails=_both(self.emails or [], self.emails_plain or []),
            model_ids=_both(self.model_ids or [], self.model_ids_plain or []),
            surfaces=_both(self.surfaces or [], self.surfaces_plain or []),
            group_by=tuple(self.group_by or ()) + _both([], self.group_by_plain or []) or ("user",),
            granularity=self.granularity, include_inactive=self.include_inactive,
            include_remote_data=self.include_remote_data,
            exclude_fields=tuple(self.exclude_fields or ()), response_format=self.response_format,
        )  # fmt: skip


@router.get(
    "/usage", response_model=None, response_class=JSON, responses={200: {"model": UsageList}}
)
@takes(UsageQuery)
async def list_usage(request: Request) -> JSON:
    """Per-period usage records; the default grain is (user, product, day)."""
    return await _answer(request, UsageQuery, _usage)


async def _usage(request: Request, q: UsageQuery, read: AccountRead) -> JSON:
    account, runtime, mode, limit = read.account, runtime_of(request), q.mode, q.limit
    params = q.usage_params()
    filters = {"route": "usage", "account": account.id, "mode": mode, **params.filters()}
    position = read_cursor(request, q.next_cursor or q.cursor, filters)
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
