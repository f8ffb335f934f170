"""Every vendor the conformance suite checks: add a vendor's harness here."""

from __future__ import annotations

from tests.connectors.conformance.anthropic import AnthropicHarness
from tests.connectors.conformance.cursor import CursorHarness
from tests.connectors.conformance.harness import VendorHarness
from tests.connectors.conformance.toy import ToyHarness

HARNESSES: dict[str, VendorHarness] = {
    h.name: h for h in (CursorHarness(), ToyHarness(), AnthropicHarness())
}
