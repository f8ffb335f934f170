"""Integrated accounts as the API shows and accepts them; credentials are write-only."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

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


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(description="A Cursor admin API key (write-only)", min_length=8)


FREQUENCY_DESCRIPTION = (
    f"Minutes between scheduled syncs ({MIN_FREQUENCY_MINUTES} to {MAX_FREQUENCY_MINUTES}); "
    "null syncs on demand only"
)
Frequency = Annotated[int, Field(ge=MIN_FREQUENCY_MINUTES, le=MAX_FREQUENCY_MINUTES)]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration: Literal["cursor"]
    credentials: Credentials
    tenant_id: str = Field(min_length=1, max_length=255, description="Your id for this customer")
    name: str | None = Field(None, max_length=255)
    base_url: str | None = Field(None, max_length=500, description="Default: Cursor's API")
    sync_frequency_minutes: Frequency | None = Field(
        DEFAULT_FREQUENCY_MINUTES, description=FREQUENCY_DESCRIPTION
    )


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=255)
    tenant_id: str | None = Field(None, min_length=1, max_length=255)
    credentials: Credentials | None = Field(None, description="New credentials, validated first")
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
