"""The contract between unimeter and a vendor connector.

Everything the rest of the product asks of a vendor is declared here; nothing outside
``connectors/<vendor>/`` imports a vendor module except the single registration in
:mod:`unimeter.connectors.registration`. A vendor that does not fit changes this contract,
never the callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .source import Source, StreamSpec

# What a credential holds: field name -> value (for example ``{"api_key": "key_…"}``).
Credentials = Mapping[str, str]

# The analyses a connector's data can feed. An analysis a vendor cannot feed is hidden for
# its accounts instead of answering zeros.
ANALYSES = frozenset(
    {"seats", "consumption", "adoption", "audit", "chargeback", "anomalies", "focus"}
)


@dataclass(frozen=True, slots=True)
class Product:
    """One product a vendor sells that usage is reported for (a tool, an API)."""

    id: str  # stable, lower-case, unique across vendors: ``cursor``, ``claude_code``
    name: str  # shown to people: ``Cursor``, ``Claude Code``


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One field a person pastes to link a workspace (the CLI prompt, the Connect page)."""

    name: str  # key in :data:`Credentials`
    label: str  # ``Admin API key``
    secret: bool = True  # never echoed, stored encrypted
    placeholder: str = ""
    help: str = ""  # one sentence: where to find it, what access it needs


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model id normalised for grouping, and who serves it."""

    id: str
    provider: str


@dataclass(frozen=True, slots=True)
class ProxyRequest:
    """A request to forward 1-to-1; ``path`` is already checked against the prefixes."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProxyResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Validation:
    """What a successful credentials check learned about the linked workspace."""

    members: int


@runtime_checkable
class Connector(Protocol):
    """A vendor, as the rest of unimeter sees it."""

    slug: str  # the ``integration`` of an account: ``cursor``
    display_name: str
    products: tuple[Product, ...]
    credential_fields: tuple[CredentialField, ...]
    default_base_url: str
    # Path prefixes the 1-to-1 proxy may reach (the vendor's own API families).
    proxy_prefixes: tuple[str, ...]
    streams: tuple[StreamSpec, ...]
    # Roles that administer the workspace (the provisioning audit counts them apart).
    admin_roles: frozenset[str]
    # Which of :data:`ANALYSES` this vendor's data can feed.
    analyses: frozenset[str]

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        """One cheap call proving the credentials carry the access a sync needs.

        Raises ``CredentialsRejectedError`` (with ``reason``) or ``VendorUnavailableError``.
        """
        ...

    def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AbstractAsyncContextManager[Source]:
        """A source for one sync (or one live read); closed when the block ends."""
        ...

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        """Forward one request with the credentials injected, through the same rate budget
        and retries as a sync. Vendor errors are answered, not raised, except when the
        vendor cannot be reached (``VendorUnavailableError``)."""
        ...

    def describe_model(self, model_id: str) -> ModelInfo: ...
