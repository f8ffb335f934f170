from __future__ import annotations

import pytest

from tests.connectors.conformance.harness import VendorHarness
from tests.connectors.conformance.harnesses import HARNESSES


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> VendorHarness:
    """Each check runs once per vendor."""
    return HARNESSES[request.param]
