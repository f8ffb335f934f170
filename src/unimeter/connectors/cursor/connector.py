"""Cursor as seen by the rest of unimeter: validate credentials, open a client or a source."""

from __future__ import annotations

import httpx

from unimeter.connectors.base import CredentialsRejectedError, Validation, VendorUnavailableError

from .client import DEFAULT_BASE_URL, CursorClient
from .errors import CursorAuthError, CursorError, CursorForbiddenError
from .retry import RetryPolicy
from .source import CursorSource

INTEGRATION = "cursor"


class CursorConnector:
    integration = INTEGRATION
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.minute_seconds = minute_seconds
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
        )

    def source(self, client: CursorClient) -> CursorSource:
        return CursorSource(client)

    async def validate(self, api_key: str, base_url: str | None = None) -> Validation:
        """One cheap call (``GET /teams/members``) that proves the key is an admin key."""
        async with self.client(api_key, base_url) as client:
            try:
                members = await client.verify()
            except CursorAuthError as exc:
                raise CredentialsRejectedError(
                    "Cursor rejected the API key (401): check that it is an active admin API key"
                ) from exc
            except CursorForbiddenError as exc:
                raise CredentialsRejectedError(
                    "the API key has no admin access to this team (403)"
                ) from exc
            except CursorError as exc:
                raise VendorUnavailableError(f"could not reach Cursor: {exc}") from exc
        return Validation(members=len(members.team_members))
