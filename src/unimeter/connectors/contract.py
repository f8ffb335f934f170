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

from .facts import FactProfile
from .simulators import SimulatorSpec
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
    # Bounds checked before the vendor is called (a wrong paste fails fast, costs no call).
    min_length: int = 1
    max_length: int = 512


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


class CredentialsShapeError(ValueError):
    """Credentials missing a field the connector declares, or carrying one it does not."""


def check_credentials(fields: tuple[CredentialField, ...], credentials: Credentials) -> None:
    """Refuse credentials that do not have exactly the declared fields, each non-blank.

    Callers (the API, the CLI, the Connect page) check before calling the vendor, so a
    connector's ``validate`` may rely on every field being there.
    """
    declared = [f.name for f in fields]
    unknown = sorted(set(credentials) - set(declared))
    if unknown:
        raise CredentialsShapeError(
            f"unknown credential field(s) {', '.join(unknown)}; expected {', '.join(declared)}"
        )
    missing = [name for name in declared if not credentials.get(name, "").strip()]
    if missing:
        raise CredentialsShapeError(f"missing credential field(s): {', '.join(missing)}")
    for f in fields:
        # The value is never part of the message: it may be a secret.
        length = len(credentials[f.name].strip())
        if length < f.min_length:
            raise CredentialsShapeError(f"{f.name}: should have at least {f.min_length} characters")
        if length > f.max_length:
            raise CredentialsShapeError(f"{f.name}: should have at most {f.max_length} characters")


@runtime_checkable
class Connector(Protocol):
    """A vendor, as the rest of unimeter sees it."""

    slug: str  # the ``integration`` of an account: ``cursor``
    display_name: str
    # What the vendor calls the unit one account links, in copy: ``team``, ``organization``.
    workspace_term: str
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
    # What its usage facts hold (detail and day-total metrics) and its records' field names.
    facts: FactProfile
    # The vendor's local simulator, or None.
    simulator: SimulatorSpec | None

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        """One cheap call proving the credentials carry the access a sync needs.

        ``credentials`` has exactly the declared fields (see :func:`check_credentials`).
        Raises ``CredentialsRejectedError`` (with ``reason``) or ``VendorUnavailableError``.
        """
        ...

    def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AbstractAsyncContextManager[Source]:
        """A source for one sync (or one live read); closed when the block ends. Its
        ``fetch`` raises the :class:`~unimeter.connectors.errors.SourceError` family only."""
        ...

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        """Forward one request with the credentials injected, through the same rate budget
        and retries as a sync. Vendor errors are answered, not raised, except when the
        vendor cannot be reached (``VendorUnavailableError``)."""
        ...

    def describe_model(self, model_id: str) -> ModelInfo: ...
