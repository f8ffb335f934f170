"""Cursor as seen by the rest of unimeter: validate credentials, open a client or a source."""

from __future__ import annotations

import httpx

from unimeter.connectors.base import CredentialsRejectedError, Validation, VendorUnavailableError
from unimeter.connectors.contract import Product

from . import mapping
from .budget import RateBudget
from .client import DEFAULT_BASE_URL, CursorClient
from .errors import CursorAuthError, CursorError, CursorForbiddenError
from .facts_profile import PROFILE
from .retry import RetryPolicy
from .source import STREAMS, CursorSource

INTEGRATION = "cursor"


class CursorConnector:
    integration = INTEGRATION
    display_name = "Cursor"
    products = (Product("cursor", "Cursor"),)
    # What readers must know of its usage facts (day totals, the adoption keys).
    facts = PROFILE
    default_base_url = DEFAULT_BASE_URL
    # The API families the proxy may reach (Admin, Analytics, settings, Cloud Agents).
    proxy_prefixes = ("/teams/", "/analytics/", "/settings/", "/v0/", "/v1/")
    # Roles that administer the team (a free owner is an unpaid admin).
    admin_roles = frozenset({"owner", "free-owner"})
    # What a sync reads, and what each stream feeds (for capabilities and analysis notes).
    streams = STREAMS

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        budget: RateBudget | None = None,
    ) -> None:
        self.minute_seconds = minute_seconds
        # None: the process-wide budget of each key (every client of the process shares it).
        self.budget = budget
        self.transport = transport
        self.retry = retry or RetryPolicy()
        self.timeout = timeout

    def client(self, api_key: str, base_url: str | None = None) -> CursorClient:
        return CursorClient(
            api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            transport=self.transport,
            minute_seconds=self.minute_seconds,
            retry=self.retry,
            timeout=self.timeout,
            budget=self.budget,
        )

    def source(self, client: CursorClient) -> CursorSource:
        return CursorSource(client)

    def describe_model(self, model_id: str) -> tuple[str, str]:
        """A model id normalised for grouping, and who serves it."""
        return mapping.normalized_model(model_id), mapping.model_provider(model_id)

    async def validate(self, api_key: str, base_url: str | None = None) -> Validation:
        """One cheap call (``GET /teams/members``) that proves the key is an admin key.

        Someone is waiting on the answer (a CLI prompt, the Connect page), so transient
        failures are retried briefly rather than with a sync's patience.
        """
        client = CursorClient(
            api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            transport=self.transport,
            minute_seconds=self.minute_seconds,
            retry=RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=1.0, max_retry_after=5.0),
            timeout=min(self.timeout, 20.0),
            budget=self.budget,
        )
        async with client:
            try:
                members = await client.verify()
            except CursorAuthError as exc:
                raise _rejected(exc) from exc
            except CursorForbiddenError as exc:
                raise CredentialsRejectedError(
                    "the API key has no admin access to this team (403)", reason="not_admin"
                ) from exc
            except CursorError as exc:
                raise VendorUnavailableError(f"could not reach Cursor: {exc}") from exc
        return Validation(members=len(members.team_members))


def _rejected(exc: CursorAuthError) -> CredentialsRejectedError:
    if exc.missing_scope:
        return CredentialsRejectedError(
            "the API key works but lacks admin access (401, missing scope admin:*): "
            "create a key with the admin:* scope in the Cursor dashboard",
            reason="not_admin",
        )
    return CredentialsRejectedError(
        "Cursor rejected the API key (401): check that it is an active admin API key"
    )
