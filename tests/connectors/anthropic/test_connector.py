"""AnthropicConnector against the simulator: validation's answers and the proxy."""

from __future__ import annotations

import orjson
import pytest

from unimeter.connectors.contract import ProxyRequest
from unimeter.connectors.errors import CredentialsRejectedError

from .conftest import ADMIN_KEY
from .test_source import BASE, connector_for, make_sim


async def test_validate_counts_the_members() -> None:
    sim = make_sim(users=30)
    connector = connector_for(sim, page_size=7)
    validation = await connector.validate({"api_key": sim.keys[0]}, BASE)
    current = [u for u in sim.truth().users() if u.removed_at_ms is None]
    assert validation.members == len(current)


async def test_an_unknown_key_is_invalid() -> None:
    sim = make_sim()
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_for(sim).validate({"api_key": ADMIN_KEY}, BASE)
    assert caught.value.reason == "invalid"
    assert "401" in str(caught.value) and ADMIN_KEY not in str(caught.value)


@pytest.mark.parametrize("status", [403, 401])
async def test_a_normal_api_key_is_not_admin(status: int) -> None:
    sim = make_sim(non_admin_status=status)
    key = sim.non_admin_key
    assert key.startswith("sk-ant-api")
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_for(sim).validate({"api_key": key}, BASE)
    assert caught.value.reason == "not_admin"
    message = str(caught.value)
    assert "not an Anthropic Admin API key" in message and "Settings → Admin keys" in message
    assert key not in message


async def test_a_revoked_key_is_invalid() -> None:
    sim = make_sim()
    sim.revoke(sim.keys[0])
    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_for(sim).validate({"api_key": sim.keys[0]}, BASE)
    assert caught.value.reason == "invalid"


async def test_proxy_passes_a_get_through() -> None:
    sim = make_sim()
    request = ProxyRequest(
        method="GET",
        path="/v1/organizations/users",
        params=(("limit", "2"),),
        headers={"authorization": "Bearer someone-else", "x-api-key": "not-ours"},
    )
    answer = await connector_for(sim).proxy({"api_key": sim.keys[0]}, BASE, request)
    assert answer.status == 200
    body = orjson.loads(answer.body)
    assert len(body["data"]) == 2 and body["has_more"] is True
    assert answer.headers["request-id"].startswith("req_")
    # The caller's own key never reached the simulator as ours.
    assert sim.requests(sim.keys[0]) == 1

    refused = await connector_for(sim).proxy({"api_key": sim.non_admin_key}, BASE, request)
    assert refused.status == 403
    assert orjson.loads(refused.body)["error"]["type"] == "permission_error"
