"""The one module outside ``connectors/<vendor>/`` that imports a vendor: it registers them.

Adding a vendor is a folder under ``connectors/`` plus one entry in :data:`SHIPPED`;
nothing else in the product names it (``tests/test_vendor_boundaries.py`` checks both).
Each vendor is imported when a caller first asks the registry for it (see
:meth:`ConnectorRegistry.register_lazy`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .contract import Connector
from .registry import ConnectorRegistry

# Seconds in one of Cursor's rate-limit minutes (tests and the demo shorten it, together
# with the simulator's).
CURSOR_MINUTE_ENV = "UNIMETER_CURSOR_MINUTE_SECONDS"
# The same for the Anthropic client's pacing minute.
ANTHROPIC_MINUTE_ENV = "UNIMETER_ANTHROPIC_MINUTE_SECONDS"


def _cursor() -> Connector:
    from .cursor.connector import CursorConnector

    return CursorConnector(minute_seconds=float(os.environ.get(CURSOR_MINUTE_ENV, "60")))


def _anthropic() -> Connector:
    from .anthropic.connector import AnthropicConnector

    return AnthropicConnector(minute_seconds=float(os.environ.get(ANTHROPIC_MINUTE_ENV, "60")))


# Every vendor the product ships, by slug, each built from the environment when first used;
# the first is the default integration of a link token that names none.
SHIPPED: tuple[tuple[str, Callable[[], Connector]], ...] = (
    ("cursor", _cursor),
    ("anthropic", _anthropic),
)


def default_registry(*overrides: Connector) -> ConnectorRegistry:
    """The shipped connectors, with ``overrides`` (configured instances: a test's transport
    and rate budget, the demo's clock) in place of the defaults of their slugs, or added."""
    registry = ConnectorRegistry()
    for slug, load in SHIPPED:
        registry.register_lazy(slug, load)
    for connector in overrides:
        registry.register(connector, replace=True)
    return registry
