"""HTTP routes for notification channels: CRUD, their messages, test sends, the digest."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from unimeter.analytics import digest as digest_figures
from unimeter.analytics import service as analytics
from unimeter.api.deps import PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError, bad_request, not_found
from unimeter.api.pagination import ListResponse, envelope, read_cursor
from unimeter.auth.service import Principal
from unimeter.db.keyset import slice_page
from unimeter.db.models import NotificationChannel
from unimeter.runtime import Runtime

from . import digest, repository, service
from .schemas import ChannelCreate, ChannelOut, ChannelUpdate, NotificationOut

router = APIRouter(tags=["notifications"], responses=COMMON_ERRORS)

WeekQuery = Annotated[
    str | None,
    Query(description="ISO week (2026-W49); default: the last whole week", max_length=10),
]


async def _in_scope(runtime: Runtime, principal: Principal, channel_id: str) -> NotificationChannel:
    async with runtime.db.reader() as session:
        channel = await repository.get_channel(session, channel_id, principal.environment_id)
    if channel is None:
        raise not_found("notification channel")
    return channel


def _wake_dispatcher(request: Request) -> None:
    dispatcher = getattr(request.app.state, "notification_dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


def _week(runtime: Runtime, text: str | None) -> digest.Week:
    if text is None:
        return digest.last_week(analytics.today(runtime))
    try:
        return digest.Week.parse(text)
    except ValueError as exc:
        raise bad_request(f"week: {exc}") from None


@router.post(
    "/notification-channels",
    status_code=status.HTTP_201_CREATED,
    response_model=ChannelOut,
    responses={400: ERROR_SCHEMA},
)
async def create_channel(
    body: ChannelCreate, runtime: RuntimeDep, principal: PrincipalDep
) -> ChannelOut:
    """Add a Slack (incoming webhook) or e-mail (SMTP) channel. Its secret is stored
    encrypted and never returned."""
    try:
        channel = await service.create_channel(runtime, principal.environment_id, body)
    except service.ChannelError as exc:
        raise bad_request(str(exc)) from None
    return ChannelOut.of(channel)


@router.get("/notification-channels", response_model=ListResponse[ChannelOut])
async def list_channels(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    filters = {"route": "notification-channels"}
    position = read_cursor(request, next_cursor or cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_channels(session, principal.environment_id, position, limit)
    page = slice_page(rows, limit, position, lambda c: [c.created_at, c.id])
    return envelope(request, page, filters, ChannelOut.of)


@router.get("/notification-channels/{channel_id}", response_model=ChannelOut)
async def get_channel(channel_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> ChannelOut:
    return ChannelOut.of(await _in_scope(runtime, principal, channel_id))


@router.patch(
    "/notification-channels/{channel_id}", response_model=ChannelOut, responses={400: ERROR_SCHEMA}
)
async def update_channel(
    channel_id: str,
    body: ChannelUpdate,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> ChannelOut:
    """Change the name, topics, threshold or settings (e-mail settings merge: only the
    fields given change), or pause and resume the channel."""
    channel = await _in_scope(runtime, principal, channel_id)
    try:
        updated = await service.update_channel(runtime, channel.id, body)
    except service.ChannelError as exc:
        raise bad_request(str(exc)) from None
    if updated is None:
        raise not_found("notification channel")
    _wake_dispatcher(request)
    return ChannelOut.of(updated)


@router.delete("/notification-channels/{channel_id}", response_model=ChannelOut)
async def delete_channel(
    channel_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> ChannelOut:
    """Remove the channel and its messages; nothing more is sent to it."""
    channel = await _in_scope(runtime, principal, channel_id)
    if not await service.delete_channel(runtime, channel.id):
        raise not_found("notification channel")
    return ChannelOut.of(channel)


@router.get(
    "/notification-channels/{channel_id}/deliveries",
    response_model=ListResponse[NotificationOut],
)
async def list_deliveries(
    channel_id: str,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    """Messages queued for this channel, newest first, with their outcome."""
    channel = await _in_scope(runtime, principal, channel_id)
    filters = {"route": "notification-deliveries", "channel": channel.id}
    position = read_cursor(request, next_cursor or cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_deliveries(session, channel.id, position, limit)
    page = slice_page(rows, limit, position, lambda d: [d.created_at, d.id])
    return envelope(request, page, filters, NotificationOut.of)


@router.post(
    "/notification-channels/{channel_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=NotificationOut,
    responses={409: ERROR_SCHEMA},
)
async def test_channel(
    channel_id: str, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> NotificationOut:
    """Queue a test message to this channel; follow it in its deliveries."""
    channel = await _in_scope(runtime, principal, channel_id)
    if not channel.is_active:
        raise ApiError(409, "the channel is paused: PATCH is_active=true first")
    delivery = await service.send_test(runtime, channel)
    _wake_dispatcher(request)
    return NotificationOut.of(delivery)


@router.get("/notifications/digest", responses={400: ERROR_SCHEMA})
async def preview_digest(
    runtime: RuntimeDep, principal: PrincipalDep, week: WeekQuery = None
) -> dict[str, Any]:
    """The weekly digest's figures for the environment, as a channel would receive them."""
    chosen = _week(runtime, week)
    body = await digest_figures.build(runtime, principal.environment_id, chosen.start, chosen.end)
    return {"week": chosen.key.removeprefix("digest:"), **body}


@router.post("/notifications/digest", status_code=status.HTTP_202_ACCEPTED)
async def send_digest(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep, week: WeekQuery = None
) -> dict[str, Any]:
    """Queue the week's digest now to the environment's subscribed channels that have not
    had it (each channel gets a week's digest once, this way or on schedule)."""
    chosen = _week(runtime, week)
    queued = await digest.queue_week(
        runtime, digest_figures.build, chosen, principal.environment_id
    )
    _wake_dispatcher(request)
    return {"week": chosen.key.removeprefix("digest:"), "queued": queued}
