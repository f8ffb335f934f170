"""Cursor as the rest of unimeter sees it: the :class:`~unimeter.connectors.contract.Connector`
contract implemented over the Admin API client.

Cursor's own errors stay in this folder: validation and the proxy turn them into the neutral
ones of :mod:`unimeter.connectors.errors`, and the source raises only those.
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
from .budget import RateBudget
from .client import DEFAULT_BASE_URL, CursorClient
from .errors import CursorAuthError, CursorError, CursorForbiddenError
from .facts import FACTS
from .retry import RetryPolicy
from .source import STREAMS, CursorSource

INTEGRATION = "cursor"
API_KEY = "api_key"


def _simulator_command() -> Callable[..., None]:
    # Imported on demand: the simulator (numpy, its web app) is heavy for every other command.
    from .simulator.cli import simulator_command

    return simulator_command


def _demo_world(
    seed: int, users: int, days: int, minute_seconds: float, people: tuple[SimulatedPerson, ...]
) -> DemoWorld:
    # Cursor's world makes its own people: the demo runs it first.
    del people
    from .simulator.demo import CursorDemoWorld

    return CursorDemoWorld(seed=seed, users=users, days=days, minute_seconds=minute_seconds)


class CursorConnector:
    slug: str = INTEGRATION
    display_name: str = "Cursor"
    workspace_term: str = "team"
    products: tuple[Product, ...] = (Product(mapping.PRODUCT_ID, "Cursor"),)
    credential_fields: tuple[CredentialField, ...] = (
        CredentialField(
            name=API_KEY,
            label="Cursor Admin API key",
            help="Create one in the Cursor dashboard, team settings: Admin API keys.",
            min_length=8,
        ),
    )
    default_base_url: str = DEFAULT_BASE_URL
    # The API families the proxy may reach (Admin, Analytics, settings, Cloud Agents).
    proxy_prefixes: tuple[str, ...] = ("/teams/", "/analytics/", "/settings/", "/v0/", "/v1/")
    # Roles that administer the team (a free owner is an unpaid admin).
    admin_roles: frozenset[str] = frozenset({"owner", "free-owner"})
    # What a sync reads, and what each stream feeds (for capabilities and analysis notes).
    streams: tuple[StreamSpec, ...] = STREAMS
    # Members, daily activity, events, spend, billing groups and the audit log feed them all.
    analyses: frozenset[str] = ANALYSES
    # What its usage facts hold, and its records' field names (see facts.py).
    facts: FactProfile = FACTS
    simulator: SimulatorSpec | None = SimulatorSpec(command=_simulator_command, demo=_demo_world)

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
        # A compressed minute (tests, the demo) compresses the backoff between retries too.
        self.retry = retry or RetryPolicy().on_minute(minute_seconds)
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

    @asynccontextmanager
    async def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AsyncIterator[Source]:
        client = self.client(credentials[API_KEY], base_url)
        try:
            yield CursorSource(client)
        finally:
            await client.aclose()

    def describe_model(self, model_id: str) -> ModelInfo:
        """A model id normalised for grouping, and who serves it."""
        return ModelInfo(mapping.normalized_model(model_id), mapping.model_provider(model_id))

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        """One cheap call (``GET /teams/members``) that proves the key is an admin key.

        Someone is waiting on the answer (a CLI prompt, the Connect page), so transient
        failures are retried briefly rather than with a sync's patience.
        """
        client = CursorClient(
            credentials[API_KEY],
            base_url=base_url or DEFAULT_BASE_URL,
            transport=self.transport,
            minute_seconds=self.minute_seconds,
            retry=WHILE_WAITING.on_minute(self.minute_seconds),
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

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        """Cursor's answer, whatever its status; VendorUnavailableError only when no answer
        came at all (every attempt failed to connect or was cut)."""
        async with self.client(credentials[API_KEY], base_url) as client:
            try:
                response = await client.raw_request(
                    request.method,
                    request.path,
                    params=httpx.QueryParams(request.params),
                    content=request.body,
                    headers=dict(request.headers) or None,
                )
            except CursorError as exc:
                raise VendorUnavailableError(str(exc)) from exc
        return ProxyResponse(
            status=response.status_code, body=response.content, headers=dict(response.headers)
        )


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
