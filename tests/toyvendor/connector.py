"""Toy AI as unimeter sees it: the :class:`~unimeter.connectors.contract.Connector`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx

from unimeter.connectors.contract import (
    CredentialField,
    Credentials,
    ModelInfo,
    Product,
    ProxyRequest,
    ProxyResponse,
    Validation,
)
from unimeter.connectors.errors import CredentialsRejectedError, VendorUnavailableError
from unimeter.connectors.facts import FactProfile
from unimeter.connectors.simulators import SimulatorSpec
from unimeter.connectors.source import Source, StreamSpec

from . import mapping
from .client import DEFAULT_BASE_URL, ToyClient
from .errors import ToyAuthError, ToyError, ToyForbiddenError
from .source import STREAMS, ToySource

SLUG = "toy"
# Hop-by-hop and auth headers never pass through the proxy in either direction.
_DROPPED = frozenset({"authorization", "x-organization-id", "host", "content-length",
                      "connection", "transfer-encoding", "content-encoding"})  # fmt: skip


class ToyConnector:
    slug: str = SLUG
    display_name: str = "Toy AI"
    workspace_term: str = "organization"
    products: tuple[Product, ...] = (Product(mapping.PRODUCT, "Toy Assistant"),)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(
            "api_key",
            "Admin API key",
            placeholder="toy_sk_admin_…",
            help="Settings → API keys → New admin key in the Toy AI console.",
        ),
        CredentialField(
            "organization_id",
            "Organization ID",
            secret=False,
            placeholder="org_…",
            help="Shown under Settings → Organization.",
        ),
    )
    default_base_url: str = DEFAULT_BASE_URL
    proxy_prefixes: tuple[str, ...] = ("/v1/",)
    streams: tuple[StreamSpec, ...] = STREAMS
    admin_roles: frozenset[str] = frozenset({"owner", "admin"})
    # No teams (chargeback) and no feature counts (adoption).
    analyses: frozenset[str] = frozenset({"seats", "consumption", "audit", "anomalies", "focus"})
    # The simulator is for the tests only: ``unimeter simulator`` and the demo never show it.
    simulator: SimulatorSpec | None = None
    # Detail facts only (no day totals): what its usage report counts, nothing else.
    facts: FactProfile = FactProfile(detail_metrics=mapping.METRICS)

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        page_size: int = 100,
        max_attempts: int = 5,
    ) -> None:
        self.transport = transport  # the tests' seam: an ASGI transport to the simulator
        self.page_size = page_size
        self.max_attempts = max_attempts

    def client(self, credentials: Credentials, base_url: str | None) -> ToyClient:
        return ToyClient(
            credentials["api_key"],
            credentials["organization_id"],
            base_url=base_url or DEFAULT_BASE_URL,
            transport=self.transport,
            max_attempts=self.max_attempts,
        )

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        """Counting the members needs the admin access a sync needs (one page is enough)."""
        missing = [f.name for f in self.credential_fields if not credentials.get(f.name)]
        if missing:
            raise CredentialsRejectedError(f"missing {', '.join(missing)}")
        async with self.client(credentials, base_url) as client:
            try:
                count = 0
                async for page in client.pages("/v1/members", {"limit": self.page_size}):
                    count += len(page)
            except ToyAuthError as exc:
                raise CredentialsRejectedError(
                    "Toy AI rejected the API key or organization ID (401)"
                ) from exc
            except ToyForbiddenError as exc:
                raise CredentialsRejectedError(
                    "the API key is not an admin key of this organization (403)",
                    reason="not_admin",
                ) from exc
            except ToyError as exc:
                raise VendorUnavailableError(f"could not reach Toy AI: {exc}") from exc
        return Validation(members=count)

    def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AbstractAsyncContextManager[Source]:
        return self._source(credentials, base_url)

    @asynccontextmanager
    async def _source(
        self, credentials: Credentials, base_url: str | None
    ) -> AsyncIterator[Source]:
        async with self.client(credentials, base_url) as client:
            yield ToySource(client, page_size=self.page_size)

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        async with self.client(credentials, base_url) as client:
            try:
                response = await client.send(
                    request.method,
                    request.path,
                    params=list(request.params),
                    content=request.body,
                    headers=headers,
                )
            except ToyError as exc:
                raise VendorUnavailableError(f"could not reach Toy AI: {exc}") from exc
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _DROPPED}
        return ProxyResponse(response.status_code, response.content, kept)

    def describe_model(self, model_id: str) -> ModelInfo:
        return ModelInfo(model_id.strip().lower(), "toy")
