"""Notification channels and deliveries as the API shows and accepts them.

Secrets (a Slack webhook URL, an SMTP password) come in and never go out: a channel shows
``secret_hint`` at most.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    StringConstraints,
    model_validator,
)

from unimeter.db.models import NotificationChannel, NotificationDelivery
from unimeter.kit.money import dollars

from .topics import Topic

Security = Literal["starttls", "tls", "none"]
# A header value: no line breaks, so nothing can be smuggled into the message's headers.
HEADER_SAFE = r"^[^\r\n]*$"
ADDRESS = r"^[^\s@<>,;]+@[^\s@<>,;]+$"
Address = Annotated[str, StringConstraints(min_length=3, max_length=255, pattern=ADDRESS)]


def iso(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class SlackInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr = Field(description="The Slack incoming-webhook URL (kept encrypted)")


class EmailInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")
    port: int = Field(587, ge=1, le=65535)
    security: Security = Field("starttls", description="starttls, tls (implicit) or none")
    username: str | None = Field(None, min_length=1, max_length=255, pattern=HEADER_SAFE)
    password: SecretStr | None = Field(None, description="Kept encrypted, never returned")
    sender: Address
    recipients: list[Address] = Field(min_length=1, max_length=50)


class EmailUpdate(BaseModel):
    """Only the fields given change; ``password: null`` removes the login's password."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(None, min_length=1, max_length=255, pattern=r"^[A-Za-z0-9.\-\[\]:]+$")
    port: int | None = Field(None, ge=1, le=65535)
    security: Security | None = None
    username: str | None = Field(None, max_length=255, pattern=HEADER_SAFE)
    password: SecretStr | None = None
    sender: Address | None = None
    recipients: list[Address] | None = Field(None, min_length=1, max_length=50)


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=HEADER_SAFE)
    kind: Literal["slack", "email"]
    slack: SlackInput | None = None
    email: EmailInput | None = None
    topics: list[Topic] = Field(min_length=1, max_length=10)
    min_anomaly_impact: str = Field(
        "0", max_length=20, description="Anomalies below this excess cost (USD) are not sent"
    )
    is_active: StrictBool = True

    @model_validator(mode="after")
    def _one_kind(self) -> ChannelCreate:
        given = {"slack": self.slack is not None, "email": self.email is not None}
        if not given[self.kind] or sum(given.values()) != 1:
            raise ValueError(f"a {self.kind} channel takes the '{self.kind}' settings alone")
        return self


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, pattern=HEADER_SAFE)
    slack: SlackInput | None = None
    email: EmailUpdate | None = None
    topics: list[Topic] | None = Field(None, min_length=1, max_length=10)
    min_anomaly_impact: str | None = Field(None, max_length=20)
    is_active: StrictBool | None = None


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    topics: list[str]
    min_anomaly_impact: str
    is_active: bool
    settings: dict[str, Any] = Field(description="SMTP settings (no password); {} for Slack")
    secret_hint: str | None = Field(
        description="Enough of the webhook URL (or that a password is set) to recognise it"
    )
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, channel: NotificationChannel) -> ChannelOut:
        return cls(
            id=channel.id,
            name=channel.name,
            kind=channel.kind,
            topics=list(channel.topics or []),
            min_anomaly_impact=dollars(channel.min_anomaly_cents_e6),
            is_active=channel.is_active,
            settings=dict(channel.settings or {}),
            secret_hint=channel.secret_hint,
            created_at=iso(channel.created_at) or dt.datetime.now(dt.UTC),
            updated_at=iso(channel.updated_at) or dt.datetime.now(dt.UTC),
        )


class NotificationOut(BaseModel):
    id: str
    channel_id: str
    topic: str
    subject: str | None
    status: str = Field(description="pending, sent, failed or cancelled")
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def of(cls, delivery: NotificationDelivery) -> NotificationOut:
        return cls(
            id=delivery.id,
            channel_id=delivery.channel_id,
            topic=delivery.topic,
            subject=delivery.subject,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            next_attempt_at=iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
            created_at=iso(delivery.created_at) or dt.datetime.now(dt.UTC),
            finished_at=iso(delivery.finished_at),
        )
