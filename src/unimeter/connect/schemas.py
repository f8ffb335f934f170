"""Link tokens as the API accepts and shows them; the plaintext token is shown once."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from unimeter.accounts.schemas import iso
from unimeter.db.models import LinkToken

DEFAULT_EXPIRY_DAYS = 7
LinkStatus = Literal["pending", "used", "expired"]
MAX_EXPIRY_DAYS = 30


class LinkTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(
        min_length=1, max_length=255, description="Your id for the customer who will link"
    )
    integration: str | None = Field(
        None,
        min_length=1,
        max_length=40,
        description="The vendor to link (see GET /integrations); default: the first one",
    )
    name: str | None = Field(None, max_length=255, description="A name for the account")
    redirect_url: str | None = Field(
        None,
        max_length=2000,
        description="Where the Connect page sends the browser after linking, with "
        "?integrated_account_id=… (http(s) only)",
    )
    expires_in_days: int = Field(
        DEFAULT_EXPIRY_DAYS,
        ge=1,
        le=MAX_EXPIRY_DAYS,
        description=f"Days until the link expires (1 to {MAX_EXPIRY_DAYS})",
    )
    base_url: str | None = Field(
        None, max_length=500, description="Default: the integration's public API"
    )


class LinkTokenOut(BaseModel):
    id: str
    link_token: str = Field(description="Single use; shown only in this response")
    url: str = Field(description="The Connect page to send your customer to")
    integration: str
    tenant_id: str
    name: str | None
    redirect_url: str | None
    expires_at: dt.datetime
    created_at: dt.datetime

    @classmethod
    def of(cls, token: LinkToken, plaintext: str, url: str) -> LinkTokenOut:
        expires_at, created_at = iso(token.expires_at), iso(token.created_at)
        assert expires_at is not None and created_at is not None
        return cls(
            id=token.id,
            link_token=plaintext,
            url=url,
            integration=token.integration,
            tenant_id=token.tenant_id,
            name=token.name,
            redirect_url=token.redirect_url,
            expires_at=expires_at,
            created_at=created_at,
        )


class LinkTokenInfo(BaseModel):
    """A link token as listed later: never the token itself (only its hash is kept)."""

    id: str
    integration: str
    tenant_id: str
    name: str | None
    redirect_url: str | None
    status: LinkStatus
    integrated_account_id: str | None = Field(description="The account it linked, once used")
    expires_at: dt.datetime
    used_at: dt.datetime | None
    created_at: dt.datetime

    @classmethod
    def of(cls, token: LinkToken, status: LinkStatus) -> LinkTokenInfo:
        expires_at, created_at = iso(token.expires_at), iso(token.created_at)
        assert expires_at is not None and created_at is not None
        return cls(
            id=token.id,
            integration=token.integration,
            tenant_id=token.tenant_id,
            name=token.name,
            redirect_url=token.redirect_url,
            status=status,
            integrated_account_id=token.account_id,
            expires_at=expires_at,
            used_at=iso(token.used_at),
            created_at=created_at,
        )
