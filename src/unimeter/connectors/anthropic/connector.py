"""Anthropic as the rest of unimeter sees it: the
:class:`~unimeter.connectors.contract.Connector` contract over the Admin API client.

Anthropic's own errors stay in this folder: validation and the proxy turn them into the
neutral ones of :mod:`unimeter.connectors.errors`, and the source raises only those.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from unimeter.connectors.contract import (
    ANALYSES,
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
from unimeter.connectors.simulators import DemoWorld, SimulatedPerson, SimulatorSpec
from unimeter.connectors.source import Source, StreamSpec
from unimeter.kit.retry import WHILE_WAITING

from . import mapping
from .budget import AdaptiveBudget
from .client import DEFAULT_BASE_URL, AnthropicClient
from .errors import AnthropicAuthError, AnthropicError, AnthropicPermissionError
from .facts import FACTS
from .retry import RetryPolicy
from .source import ORG, STREAMS, AnthropicSource, wall_clock_ms

SLUG = "anthropic"
API_KEY = "api_key"
NOT_ADMIN = (
    "the key is not an Anthropic Admin API key: create one (sk-ant-admin01-…) in the Claude "
    "Console under Settings → Admin keys, as an organization admin"
)
# Never forwarded, in either direction: the caller's credentials (ours are injected) and
# hop-by-hop headers, which describe one connection, not the message.
_DROPPED = frozenset(
    {
        "authorization", "x-api-key", "anthropic-version", "cookie", "set-cookie", "host",
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
        "content-encoding",
    }
)  # fmt: skip


def _simulator_command() -> Callable[..., None]:
    # Imported on demand: the simulator (its web app) is heavy for every other command.
    from .simulator.cli import simulator_command

    return simulator_command


def _demo_world(
    seed: int, users: int, days: int, minute_seconds: float, people: tuple[SimulatedPerson, ...]
) -> DemoWorld:
    from .simulator.demo import AnthropicDemoWorld

    return AnthropicDemoWorld(seed, users, days, minute_seconds, people)


class AnthropicConnector:
    slug: str = SLUG
    display_name: str = "Anthropic"
    workspace_term: str = "organization"
    products: tuple[Product, ...] = (
        Product(mapping.CLAUDE_CODE, "Claude Code"),
        Product(mapping.CLAUDE_API, "Claude API"),
    )
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(
            name=API_KEY,
            label="Anthropic Admin API key",
            placeholder="sk-ant-admin01-…",
            help=(
                "Created in the Claude Console under Settings → Admin keys, by an "
                "organization admin; a normal API key (sk-ant-api03-…) will not work."
            ),
            min_length=20,
        ),
    )
    default_base_url: str = DEFAULT_BASE_URL
    proxy_prefixes: tuple[str, ...] = (f"{ORG}/",)
    admin_roles: frozenset[str] = frozenset({"admin", "owner", "primary_owner"})
    streams: tuple[StreamSpec, ...] = STREAMS
    # Members, usage, costs, and workspaces as teams: every analysis.
    analyses: frozenset[str] = ANALYSES
    facts: FactProfile = FACTS
    simulator: SimulatorSpec | None = SimulatorSpec(command=_simulator_command, demo=_demo_world)

    def __init__(
        self,
        *,
        minute_seconds: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        budget: AdaptiveBudget | None = None,
        page_size: int = 1000,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.minute_seconds = minute_seconds
        self.transport = transport  # the tests' seam: an ASGI transport to the simulator
        # A compressed minute (tests, the demo) compresses the backoff between retries too.
        self.retry = retry or RetryPolicy().on_minute(minute_seconds)
        self.timeout = timeout
        # None: the process-wide budget of each key (every client of the process shares it).
        self.budget = budget
        self.page_size = page_size
        # Which days are complete; a seam for tests against a simulator with a frozen clock.
        self.clock = clock

    def client(
        self, api_key: str, base_url: str | None = None, *, retry: RetryPolicy | None = None
    ) -> AnthropicClient:
        return AnthropicClient(
            api_key,
            base_url=base_url or DEFAULT_BASE_URL,
            transport=self.transport,
            budget=self.budget,
            minute_seconds=self.minute_seconds,
            retry=retry or self.retry,
            timeout=self.timeout,
        )

    @asynccontextmanager
    async def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AsyncIterator[Source]:
        async with self.client(credentials[API_KEY], base_url) as client:
            yield AnthropicSource(client, clock=self.clock, page_size=self.page_size)

    def describe_model(self, model_id: str) -> ModelInfo:
        """``claude-sonnet-4-5-20250929`` groups as ``claude-sonnet-4-5``."""
        return ModelInfo(mapping.normalized_model(model_id), "anthropic")

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        """``/me`` proves the key works on the Admin API; counting ``/users`` that it may
        read the roster a sync needs."""
        retry = WHILE_WAITING.on_minute(self.minute_seconds)
        async with self.client(credentials[API_KEY], base_url, retry=retry) as client:
            try:
                await client.get(f"{ORG}/me")
                count = 0
                async for page in client.id_pages(f"{ORG}/users", limit=self.page_size):
                    count += len(page)
            except AnthropicAuthError as exc:
                if client.looks_like_api_key:
                    raise CredentialsRejectedError(
                        f"{NOT_ADMIN} (401)", reason="not_admin"
                    ) from exc
                raise CredentialsRejectedError(
                    f"Anthropic rejected the key (401): {_detail(exc)}"
                ) from exc
            except AnthropicPermissionError as exc:
                raise CredentialsRejectedError(f"{NOT_ADMIN} (403)", reason="not_admin") from exc
            except AnthropicError as exc:
                raise VendorUnavailableError(f"could not reach Anthropic: {exc}") from exc
        return Validation(members=count)

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        """Anthropic's answer, whatever its status; VendorUnavailableError only when no
        answer came at all."""
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        async with self.client(credentials[API_KEY], base_url) as client:
            try:
                response = await client.raw_request(
                    request.method,
                    request.path,
                    params=request.params,
                    content=request.body,
                    headers=headers,
                )
            except AnthropicError as exc:
                raise VendorUnavailableError(f"could not reach Anthropic: {exc}") from exc
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _DROPPED}
        return ProxyResponse(response.status_code, response.content, kept)


def _detail(exc: AnthropicError) -> str:
    return "check that it is an active Admin API key" + (
        f" (request-id {exc.request_id})" if exc.request_id else ""
    )
