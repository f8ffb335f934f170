"""``CursorConnector.validate``: why a key is refused, in vendor-neutral terms."""

from __future__ import annotations

import httpx
import pytest

from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import create_app
from unimeter.connectors.errors import CredentialsRejectedError, VendorUnavailableError

from .conftest import make_sim

READ_ONLY = "crsr_" + "r" * 64
BASE = "http://cursor.test"


def connector_for(app: object) -> CursorConnector:
    return CursorConnector(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]


async def test_an_admin_key_validates() -> None:
    sim = make_sim(read_only_keys=(READ_ONLY,))
    validation = await connector_for(create_app(sim)).validate({"api_key": sim.keys[0]}, BASE)
    assert validation.members == len(sim.team(sim.keys[0]).members)


async def test_a_key_without_the_admin_scope_is_not_admin() -> None:
    sim = make_sim(read_only_keys=(READ_ONLY,))
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_for(create_app(sim)).validate({"api_key": READ_ONLY}, BASE)
    assert caught.value.reason == "not_admin"
    assert "lacks admin access" in str(caught.value)
    assert READ_ONLY not in str(caught.value)


async def test_an_unknown_key_is_invalid() -> None:
    sim = make_sim(read_only_keys=(READ_ONLY,))
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_for(create_app(sim)).validate({"api_key": "crsr_" + "x" * 64}, BASE)
    assert caught.value.reason == "invalid"
    assert "rejected the API key" in str(caught.value)


async def test_a_403_is_not_admin_and_a_dead_vendor_is_unavailable() -> None:
    def forbidden(_: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": "Forbidden", "message": "Not enabled"})

    connector = CursorConnector(transport=httpx.MockTransport(forbidden))
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector.validate({"api_key": "crsr_" + "1" * 64}, BASE)
    assert caught.value.reason == "not_admin"

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    connector = CursorConnector(transport=httpx.MockTransport(refused))
    with pytest.raises(VendorUnavailableError):
        await connector.validate({"api_key": "crsr_" + "1" * 64}, BASE)
