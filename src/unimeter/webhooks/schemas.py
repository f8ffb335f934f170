"""Webhooks and deliveries as the API shows and accepts them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from unimeter.db.models import Webhook, WebhookAttempt, WebhookDelivery

from .events import EventType


def iso(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="http(s) URL receiving POSTs")
    event_types: list[EventType] = Field(
        default_factory=list, max_length=50, description="Events to send; empty means all"
    )
    is_active: StrictBool = True


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=2000)
    event_types: list[EventType] | None = Field(None, max_length=50)
    is_active: StrictBool | None = Field(
        None, description="true re-enables a webhook disabled after failures"
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    is_active: bool
    disabled_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            id=webhook.id,
            url=webhook.url,
            event_types=list(webhook.event_types or []),
            is_active=webhook.is_active,
            disabled_reason=webhook.disabled_reason,
            created_at=iso(webhook.created_at) or dt.datetime.now(dt.UTC),
            updated_at=iso(webhook.updated_at) or dt.datetime.now(dt.UTC),
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Signing secret (Standard Webhooks, whsec_...). Shown only in this response."
    )


class AttemptOut(BaseModel):
    attempted_at: dt.datetime
    outcome: str = Field(description="succeeded or failed")
    status_code: int | None = Field(description="The receiver's HTTP status, if it answered")
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> AttemptOut:
        return cls(
            attempted_at=iso(attempt.attempted_at) or dt.datetime.now(dt.UTC),
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
        )


class DeliveryOut(BaseModel):
    id: str = Field(description="Sent as the webhook-id header; the same on every retry")
    webhook_id: str
    event_type: str
    status: str = Field(description="pending, succeeded or failed")
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
        pending = delivery.status == "pending"
        return cls(
            id=delivery.id,
            webhook_id=delivery.webhook_id,
            event_type=delivery.event_type,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=iso(delivery.next_attempt_at) if pending else None,
            last_status_code=delivery.last_status_code,
            created_at=iso(delivery.created_at) or dt.datetime.now(dt.UTC),
            finished_at=iso(delivery.finished_at),
            payload=orjson.loads(delivery.body),
            attempt_log=[AttemptOut.of(a) for a in attempts],
        )
