"""The connectors a process knows, by slug: the one way the product finds a vendor.

The registry imports no vendor: :mod:`unimeter.connectors.registration` builds the default
one, and every caller (``runtime.registry``) asks it by an account's ``integration``::

    connector = runtime.registry.get(account.integration)

Tests add a vendor of their own to a runtime's registry, before any account of it is
linked; nothing else changes::

    runtime = await open_runtime(settings)
    runtime.registry.register(ToyConnector(transport=...))

A slug is registered once; :meth:`ConnectorRegistry.register` with ``replace=True`` swaps a
configured instance in (a test's transport, the demo's clock). The shipped vendors are
registered by :meth:`ConnectorRegistry.register_lazy`: a vendor's package is imported the
first time it is asked for, so a command or a server that meets only one vendor's accounts
never pays for importing the others (their clients, models and mappings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .contract import Connector


@dataclass(frozen=True, slots=True)
class _Deferred:
    """A connector not built yet: ``load`` imports its vendor and builds it."""

    load: Callable[[], Connector]


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
        self._connectors: dict[str, Connector | _Deferred] = {}
        for connector in connectors:
            self.register(connector)

    def register(self, connector: Connector, *, replace: bool = False) -> None:
        """Add a connector. A second one under a slug is refused unless ``replace`` (two
        vendors answering to one slug would split an account's data between them)."""
        if not isinstance(connector, Connector):
            raise TypeError(f"{connector!r} does not implement the Connector protocol")
        self._claim(connector.slug, replace)
        self._connectors[connector.slug] = connector

    def register_lazy(self, slug: str, load: Callable[[], Connector]) -> None:
        """Add the connector ``load`` builds, built (and its vendor imported) on first use."""
        self._claim(slug, replace=False)
        self._connectors[slug] = _Deferred(load)

    def _claim(self, slug: str, replace: bool) -> None:
        if slug in self._connectors and not replace:
            raise ValueError(f"a connector is already registered as {slug!r}")

    def get(self, slug: str) -> Connector:
        try:
            entry = self._connectors[slug]
        except KeyError:
            raise UnknownIntegrationError(slug, self._connectors) from None
        if isinstance(entry, _Deferred):
            entry = self._connectors[slug] = _built(slug, entry)
        return entry

    def __contains__(self, slug: object) -> bool:
        return slug in self._connectors

    def slugs(self) -> tuple[str, ...]:
        return tuple(self._connectors)

    def all(self) -> tuple[Connector, ...]:
        return tuple(self.get(slug) for slug in tuple(self._connectors))

    def default(self) -> Connector:
        """The first registered connector: what a request naming no integration means (a
        link token created before link tokens carried one)."""
        if not self._connectors:
            raise UnknownIntegrationError("", ())
        return self.get(next(iter(self._connectors)))


def _built(slug: str, deferred: _Deferred) -> Connector:
    connector = deferred.load()
    if not isinstance(connector, Connector):
        raise TypeError(f"{connector!r} does not implement the Connector protocol")
    if connector.slug != slug:
        raise ValueError(f"the connector registered as {slug!r} calls itself {connector.slug!r}")
    return connector
