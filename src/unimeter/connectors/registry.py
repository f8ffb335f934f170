"""The connectors a process knows, by slug: the one way the product finds a vendor.

The registry imports no vendor: :mod:`unimeter.connectors.registration` builds the default
one, and every caller (``runtime.registry``) asks it by an account's ``integration``::

    connector = runtime.registry.get(account.integration)

Tests add a vendor of their own to a runtime's registry, before any account of it is
linked; nothing else changes::

    runtime = await open_runtime(settings)
    runtime.registry.register(ToyConnector(transport=...))

A slug is registered once; :meth:`ConnectorRegistry.register` with ``replace=True`` swaps a
configured instance in (a test's transport, the demo's clock).
"""

from __future__ import annotations

from collections.abc import Iterable

from .contract import Connector


class UnknownIntegrationError(ValueError):
    """No connector is registered under this slug; the message lists the known ones."""

    def __init__(self, slug: str, known: Iterable[str]) -> None:
        self.slug = slug
        self.known = tuple(known)
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown integration {slug!r}; known integrations: {listed}")


class ConnectorRegistry:
    """Connectors by slug, in registration order (the first is the default)."""

    def __init__(self, connectors: Iterable[Connector] = ()) -> None:
        self._connectors: dict[str, Connector] = {}
        for connector in connectors:
            self.register(connector)

    def register(self, connector: Connector, *, replace: bool = False) -> None:
        """Add a connector. A second one under a slug is refused unless ``replace`` (two
        vendors answering to one slug would split an account's data between them)."""
        if not isinstance(connector, Connector):
            raise TypeError(f"{connector!r} does not implement the Connector protocol")
        if connector.slug in self._connectors and not replace:
            raise ValueError(f"a connector is already registered as {connector.slug!r}")
        self._connectors[connector.slug] = connector

    def get(self, slug: str) -> Connector:
        try:
            return self._connectors[slug]
        except KeyError:
            raise UnknownIntegrationError(slug, self._connectors) from None

    def __contains__(self, slug: object) -> bool:
        return slug in self._connectors

    def slugs(self) -> tuple[str, ...]:
        return tuple(self._connectors)

    def all(self) -> tuple[Connector, ...]:
        return tuple(self._connectors.values())

    def default(self) -> Connector:
        """The first registered connector: what a request naming no integration means (a
        link token created before link tokens carried one)."""
        if not self._connectors:
            raise UnknownIntegrationError("", ())
        return next(iter(self._connectors.values()))
