"""Integrated accounts as the API shows and accepts them; credentials are write-only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from unimeter.connectors.contract import Connector
from unimeter.db.models import IntegratedAccount
from unimeter.sync.engine.capabilities import Availability, Capability
from unimeter.sync.scheduling.cadence import (
    DEFAULT_FREQUENCY_MINUTES,
    MAX_FREQUENCY_MINUTES,
    MIN_FREQUENCY_MINUTES,
)

AccountStatus = Literal["active", "needs_reauth", "validation_error"]


def iso(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


# The integration's credential fields by name (write-only), checked against the fields its
# connector declares before the vendor is called.
Credentials = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=64)],
        Annotated[SecretStr, Field(max_length=4096)],
    ],
    Field(
        min_length=1,
        max_length=16,
        description="The integration's credential fields (write-only), for example "
        '{"api_key": "…"}; GET /integrations lists each integration\'s fields',
    ),
]


FREQUENCY_DESCRIPTION = (
    f"Minutes between scheduled syncs ({MIN_FREQUENCY_MINUTES} to {MAX_FREQUENCY_MINUTES}); "
    "null syncs on demand only"
)
Frequency = Annotated[int, Field(ge=MIN_FREQUENCY_MINUTES, le=MAX_FREQUENCY_MINUTES)]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: str = Field(
        min_length=1, max_length=40, description="The vendor's slug (see GET /integrations)"
    )
    credentials: Credentials
    tenant_id: str = Field(min_length=1, max_length=255, description="Your id for this customer")
    name: str | None = Field(None, max_length=255)
    base_url: str | None = Field(
        None, max_length=500, description="Default: the integration's public API"
    )
    sync_frequency_minutes: Frequency | None = Field(
        DEFAULT_FREQUENCY_MINUTES, description=FREQUENCY_DESCRIPTION
    )


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, min_length=1, max_length=255)
    credentials: Credentials | None = None  # new credentials, validated first
    sync_frequency_minutes: Frequency | None = Field(None, description=FREQUENCY_DESCRIPTION)


class CapabilityOut(BaseModel):
    status: Availability = Field(
        description="available (read by the last sync), unavailable (the vendor refused it: "
        "the account's plan lacks it) or unknown (not tried yet)"
    )
    provides: str = Field(
        description="What the stream feeds: members, daily_activity, usage_events, spend, "
        "teams or audit_log"
    )
    reason: str | None = Field(description="What the vendor answered, when unavailable")
    checked_at: dt.datetime | None = Field(description="When a sync last tried the stream")
    next_check_at: dt.datetime | None = Field(
        description="When an unavailable stream is tried again (at most once a day)"
    )

    @classmethod
    def of(cls, c: Capability) -> CapabilityOut:
        return cls(
            status=c.status,
            provides=c.provides,
            reason=c.reason,
            checked_at=iso(c.checked_at),
            next_check_at=iso(c.next_check_at),
        )


class AccountOut(BaseModel):
    id: str
    integration: str
    tenant_id: str | None
    name: str | None
    status: str
    last_synced_at: dt.datetime | None
    last_error: str | None
    sync_frequency_minutes: int | None = Field(description=FREQUENCY_DESCRIPTION)
    next_sync_at: dt.datetime | None = Field(description="When the next scheduled sync runs")
    created_at: dt.datetime
    updated_at: dt.datetime
    capabilities: dict[str, CapabilityOut] | None = Field(
        None,
        description="Per stream, whether the vendor offers it to this account (not in "
        "webhook payloads)",
    )

    @classmethod
    def of(cls, a: IntegratedAccount, capabilities: list[Capability] | None = None) -> AccountOut:
        return cls(
            id=a.id,
            integration=a.integration,
            tenant_id=a.tenant_id,
            name=a.name,
            status=a.status,
            last_synced_at=iso(a.last_synced_at),
            last_error=a.last_error,
            sync_frequency_minutes=a.sync_frequency_minutes,
            next_sync_at=iso(a.next_sync_at) if a.status == "active" else None,
            created_at=iso(a.created_at) or dt.datetime.now(dt.UTC),
            updated_at=iso(a.updated_at) or dt.datetime.now(dt.UTC),
            capabilities=None
            if capabilities is None
            else {c.stream: CapabilityOut.of(c) for c in capabilities},
        )


class Deleted(BaseModel):
    id: str


class ProductOut(BaseModel):
    id: str
    name: str


class CredentialFieldOut(BaseModel):
    name: str = Field(description="The key in the credentials object")
    label: str
    secret: bool = Field(description="Write-only, stored encrypted")
    placeholder: str
    help: str


class StreamOut(BaseModel):
    name: str
    provides: str
    required: bool


class IntegrationOut(BaseModel):
    """A vendor this server can link, as its connector declares it."""

    slug: str = Field(description="The integration of its accounts")
    name: str
    products: list[ProductOut]
    credential_fields: list[CredentialFieldOut]
    default_base_url: str
    streams: list[StreamOut]
    analyses: list[str] = Field(description="The analyses its data can feed")

    @classmethod
    def of(cls, c: Connector) -> IntegrationOut:
        return cls(
            slug=c.slug,
            name=c.display_name,
            products=[ProductOut(id=p.id, name=p.name) for p in c.products],
            credential_fields=[
                CredentialFieldOut(
                    name=f.name,
                    label=f.label,
                    secret=f.secret,
                    placeholder=f.placeholder,
                    help=f.help,
                )
                for f in c.credential_fields
            ],
            default_base_url=c.default_base_url,
            streams=[
                StreamOut(name=s.name, provides=s.provides, required=s.required) for s in c.streams
            ],
            analyses=sorted(c.analyses),
        )
