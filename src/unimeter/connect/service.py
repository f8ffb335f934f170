"""Link tokens and the link they make: create a token, check it, link an account with it.

A link token is a capability: whoever holds it may link one workspace into the token's
environment, for the tenant and name its creator chose, before it expires. Only its hash is
stored. The account and the token's "used" mark are written in one transaction, and the
mark is a conditional update, so a token never links two accounts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from unimeter.accounts.service import LinkRequest, add_linked_account, validate_credentials
from unimeter.connectors.contract import Credentials, CredentialsShapeError
from unimeter.connectors.errors import CredentialsRejectedError, VendorUnavailableError
from unimeter.db.base import new_id
from unimeter.db.models import IntegratedAccount, LinkToken
from unimeter.kit import tokens
from unimeter.runtime import Runtime

from . import repository
from .schemas import LinkStatus

log = logging.getLogger("unimeter.connect")

PREFIX = "ulk_"
DAY_MS = 86_400_000

Problem = Literal["unknown", "expired", "used", "invalid_key", "not_admin", "unavailable"]


class LinkProblemError(Exception):
    """Why a link cannot be completed, as one of a few cases the page explains."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.problem: Problem = problem


@dataclass(frozen=True, slots=True)
class NewLinkToken:
    token: LinkToken
    plaintext: str  # returned to the creator once, never stored


@dataclass(frozen=True, slots=True)
class LinkTokenRequest:
    tenant_id: str
    # The vendor to link (its slug); None: the registry's default (the first registered).
    integration: str | None = None
    name: str | None = None
    redirect_url: str | None = None
    base_url: str | None = None
    expires_in_days: int = 7


async def create_link_token(
    runtime: Runtime, environment_id: str, request: LinkTokenRequest
) -> NewLinkToken:
    """A new link token (UnknownIntegrationError for a slug the registry does not know)."""
    registry = runtime.registry
    integration = registry.default().slug if request.integration is None else request.integration
    registry.get(integration)
    plaintext = tokens.generate(PREFIX)
    now = runtime.clock()
    token = LinkToken(
        id=new_id("lnk"),
        environment_id=environment_id,
        token_hash=tokens.token_hash(plaintext),
        integration=integration,
        tenant_id=request.tenant_id,
        name=request.name,
        redirect_url=request.redirect_url,
        base_url=request.base_url,
        expires_at=now + request.expires_in_days * DAY_MS,
        created_at=now,
    )
    async with runtime.db.session() as session:
        await repository.add_link_token(session, token)
    return NewLinkToken(token=token, plaintext=plaintext)


async def open_link(runtime: Runtime, plaintext: str) -> LinkToken:
    """The token if it may still link an account; LinkProblemError otherwise."""
    # The checksum turns away mistyped or made-up tokens without a database lookup.
    if not tokens.looks_valid(plaintext, PREFIX):
        raise LinkProblemError("unknown")
    async with runtime.db.reader() as session:
        token = await repository.by_hash(session, tokens.token_hash(plaintext))
    if token is None:
        raise LinkProblemError("unknown")
    if token.used_at is not None:
        raise LinkProblemError("used")
    if token.expires_at <= runtime.clock():
        raise LinkProblemError("expired")
    if token.integration not in runtime.registry:
        # Its vendor is no longer served: nothing could be linked with it.
        raise LinkProblemError("unknown")
    return token


class _ClaimLostError(Exception):
    """Another submit used the token (or it expired) while the key was being checked."""


async def complete_link(
    runtime: Runtime, token: LinkToken, plaintext: str, credentials: Credentials
) -> IntegratedAccount:
    """Check the credentials with the vendor, then create the account and use up the token
    (as opened by :func:`open_link`; it is checked again when it is claimed)."""
    request = LinkRequest(
        integration=token.integration,
        credentials=credentials,
        tenant_id=token.tenant_id,
        name=token.name,
        base_url=token.base_url,
    )
    base_url = await _validated(runtime, request)
    try:
        async with runtime.db.session() as session:
            account = await add_linked_account(
                runtime, session, token.environment_id, request, base_url
            )
            if not await repository.claim(session, token.id, account.id, runtime.clock()):
                raise _ClaimLostError  # rolls back the account and its webhook events
    except _ClaimLostError:
        await open_link(runtime, plaintext)  # raises "used" or "expired"
        raise LinkProblemError("used") from None
    return account


async def _validated(runtime: Runtime, request: LinkRequest) -> str:
    try:
        return await validate_credentials(runtime, request)
    except CredentialsShapeError as exc:
        # Too short to be a key: the vendor would refuse it too, without a call to it.
        raise LinkProblemError("invalid_key") from exc
    except CredentialsRejectedError as exc:
        raise LinkProblemError("not_admin" if exc.reason == "not_admin" else "invalid_key") from exc
    except VendorUnavailableError as exc:
        # The page says "try again later"; the operator needs the cause (it never holds the key).
        log.warning("link: %s", exc)
        raise LinkProblemError("unavailable") from exc


def status_of(token: LinkToken, now: int) -> LinkStatus:
    """``used`` once it made an account, ``expired`` after its expiry (or revocation),
    ``pending`` while it can still be used."""
    if token.used_at is not None:
        return "used"
    return "expired" if token.expires_at <= now else "pending"


async def revoke(runtime: Runtime, environment_id: str, token_id: str) -> LinkToken | None:
    """Make an unused link unusable from now on; None when the environment has no such link."""
    async with runtime.db.session() as session:
        token = await repository.get_link_token(session, environment_id, token_id)
        if token is None:
            return None
        await repository.expire(session, token.id, runtime.clock())
    async with runtime.db.reader() as session:
        return await repository.get_link_token(session, environment_id, token_id)
