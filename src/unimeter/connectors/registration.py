"""The one module outside ``connectors/<vendor>/`` that imports a vendor: it registers them.

Adding a vendor is a folder under ``connectors/`` plus one line in :func:`default_connectors`;
nothing else in the product names it (``tests/test_vendor_boundaries.py`` checks both).
"""

from __future__ import annotations

import os

from .anthropic.connector import AnthropicConnector
from .contract import Connector
from .cursor.connector import CursorConnector
from .registry import ConnectorRegistry

# Seconds in one of Cursor's rate-limit minutes (tests and the demo shorten it, together
# with the simulator's).
CURSOR_MINUTE_ENV = "UNIMETER_CURSOR_MINUTE_SECONDS"
# The same for the Anthropic client's pacing minute.
ANTHROPIC_MINUTE_ENV = "UNIMETER_ANTHROPIC_MINUTE_SECONDS"


def default_connectors() -> list[Connector]:
    """Every vendor the product ships, configured from the environment; the first is the
    default integration of a link token that names none."""
    minute = float(os.environ.get(CURSOR_MINUTE_ENV, "60"))
    anthropic_minute = float(os.environ.get(ANTHROPIC_MINUTE_ENV, "60"))
    return [
        CursorConnector(minute_seconds=minute),
        AnthropicConnector(minute_seconds=anthropic_minute),
    ]


def default_registry(*overrides: Connector) -> ConnectorRegistry:
    """The shipped connectors, with ``overrides`` (configured instances: a test's transport
    and rate budget, the demo's clock) in place of the defaults of their slugs, or added."""
    registry = ConnectorRegistry(default_connectors())
    for connector in overrides:
        registry.register(connector, replace=True)
    return registry
