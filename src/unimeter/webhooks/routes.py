"""HTTP routes for webhooks: CRUD, delivery log and test sends."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status

from unimeter.api.deps import PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError, not_found
from unimeter.api.pagination import ListResponse, envelope, read_cursor
from unimeter.auth.service import Principal
from unimeter.db.keyset import slice_page
from unimeter.db.models import Webhook
from unimeter.kit.netpolicy import URLRefusedError
from unimeter.runtime import Runtime

from . import repository, service
from .schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(tags=["webhooks"], responses=COMMON_ERRORS)


def _checked_url(runtime: Runtime, url: str) -> str:
    try:
        return runtime.checked_callback_url(url)
    except URLRefusedError as exc:
        raise ApiError(400, f"url: {exc}") from exc


async def _in_scope(runtime: Runtime, principal: Principal, webhook_id: str) -> Webhook:
    async with runtime.db.reader() as session:
        webhook = await repository.get_webhook(session, webhook_id, principal.environment_id)
    if webhook is None:
        raise not_found("webhook")
    return webhook


def _wake_dispatcher(request: Request) -> None:
    dispatcher = getattr(request.app.state, "webhook_dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses={400: ERROR_SCHEMA},
)
async def create_webhook(
    body: WebhookCreate, runtime: RuntimeDep, principal: PrincipalDep
) -> WebhookCreated:
    """Register an endpoint. The response carries the signing secret, once."""
    url = _checked_url(runtime, body.url)
    webhook, secret = await service.create_webhook(
        runtime,
        principal.environment_id,
        url=url,
        event_types=list(body.event_types),
        is_active=body.is_active,
    )
    return WebhookCreated(**WebhookOut.of(webhook).model_dump(), secret=secret)


@router.get("/webhooks", response_model=ListResponse[WebhookOut])
async def list_webhooks(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    filters = {"route": "webhooks"}
    position = read_cursor(request, next_cursor or cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_webhooks(session, principal.environment_id, position, limit)
    page = slice_page(rows, limit, position, lambda w: [w.created_at, w.id])
    return envelope(request, page, filters, WebhookOut.of)


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> WebhookOut:
    return WebhookOut.of(await _in_scope(runtime, principal, webhook_id))


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut, responses={400: ERROR_SCHEMA})
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> WebhookOut:
    """Change the URL or the events, or re-enable a disabled webhook (its pending deliveries
    resume)."""
    webhook = await _in_scope(runtime, principal, webhook_id)
    url = _checked_url(runtime, body.url) if body.url is not None else None
    updated = await service.update_webhook(
        runtime,
        webhook.id,
        url=url,
        event_types=list(body.event_types) if body.event_types is not None else None,
        is_active=body.is_active,
    )
    if updated is None:
        raise not_found("webhook")
    _wake_dispatcher(request)
    return WebhookOut.of(updated)


@router.delete("/webhooks/{webhook_id}", response_model=WebhookOut)
async def delete_webhook(
    webhook_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> WebhookOut:
    """Remove the webhook and its delivery log; nothing more is sent to it."""
    webhook = await _in_scope(runtime, principal, webhook_id)
    if not await service.delete_webhook(runtime, webhook.id):
        raise not_found("webhook")
    return WebhookOut.of(webhook)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=ListResponse[DeliveryOut])
async def list_deliveries(
    webhook_id: str,
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    next_cursor: str | None = None,
    cursor: Annotated[str | None, Query(description="Alias of next_cursor")] = None,
) -> dict[str, Any]:
    """Deliveries to this webhook, newest first, each with every attempt made."""
    webhook = await _in_scope(runtime, principal, webhook_id)
    filters = {"route": "deliveries", "webhook": webhook.id, "status": status}
    position = read_cursor(request, next_cursor or cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_deliveries(session, webhook.id, status, position, limit)
        page = slice_page(rows, limit, position, lambda d: [d.created_at, d.id])
        attempts = await repository.attempts_of(session, [d.id for d in page.items])
    return envelope(request, page, filters, lambda d: DeliveryOut.of(d, attempts[d.id]))


@router.post(
    "/webhooks/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses={409: ERROR_SCHEMA},
)
async def test_webhook(
    webhook_id: str, request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> DeliveryOut:
    """Queue a signed ``webhook:test`` event to this webhook; follow it in its deliveries."""
    webhook = await _in_scope(runtime, principal, webhook_id)
    if not webhook.is_active:
        raise ApiError(409, "the webhook is disabled: PATCH is_active=true first")
    delivery = await service.send_test(runtime, webhook)
    _wake_dispatcher(request)
    return DeliveryOut.of(delivery, [])
