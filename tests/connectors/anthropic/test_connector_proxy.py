"""AnthropicConnector over a mock transport: what the proxy sends and answers, the
connector's declarations, and validation failures the simulator never gives."""

from __future__ import annotations

import httpx
import pytest

from unimeter.connectors.anthropic.connector import AnthropicConnector
from unimeter.connectors.contract import Connector, ProxyRequest, check_credentials
from unimeter.connectors.errors import CredentialsRejectedError, VendorUnavailableError

from .conftest import ADMIN_KEY, FAST_RETRY, Handler, error_body, unlimited_budget

BASE = "https://api.anthropic.test"


def connector_on(handler: Handler) -> AnthropicConnector:
    return AnthropicConnector(
        transport=httpx.MockTransport(handler), retry=FAST_RETRY, budget=unlimited_budget()
    )


def test_declarations() -> None:
    connector = AnthropicConnector()
    assert isinstance(connector, Connector)
    assert connector.slug == "anthropic"
    assert [p.id for p in connector.products] == ["claude_code", "claude_api"]
    (field,) = connector.credential_fields
    assert (field.name, field.label, field.min_length) == ("api_key", "Anthropic Admin API key", 20)
    assert "Admin keys" in field.help and "sk-ant-api03" in field.help
    check_credentials(connector.credential_fields, {"api_key": ADMIN_KEY})
    assert connector.proxy_prefixes == ("/v1/organizations/",)
    assert connector.default_base_url == "https://api.anthropic.com"
    assert {s.name for s in connector.streams} == {
        "users", "workspaces", "api_keys", "claude_code", "messages_usage", "cost_report"
    }  # fmt: skip
    assert connector.describe_model("claude-sonnet-4-5-20250929").id == "claude-sonnet-4-5"
    assert connector.describe_model("claude-sonnet-4-5-20250929").provider == "anthropic"
    assert connector.facts.estimated_charges == frozenset({"claude_code"})


async def test_proxy_injects_our_key_and_drops_the_callers_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={"data": [], "has_more": False, "first_id": None, "last_id": None},
            headers={"request-id": "req_9", "connection": "close", "set-cookie": "a=b"},
        )

    request = ProxyRequest(
        method="GET",
        path="/v1/organizations/users",
        params=(("limit", "2"), ("roles[]", "admin"), ("roles[]", "user")),
        headers={
            "Authorization": "Bearer caller-token",
            "x-api-key": "caller-key",
            "Connection": "keep-alive",
            "accept-language": "en",
        },
    )
    answer = await connector_on(handler).proxy({"api_key": ADMIN_KEY}, BASE, request)
    assert answer.status == 200
    assert answer.headers.get("request-id") == "req_9"
    assert "connection" not in {k.lower() for k in answer.headers}
    assert "set-cookie" not in {k.lower() for k in answer.headers}
    (sent,) = seen
    assert sent.headers["x-api-key"] == ADMIN_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.headers["accept-language"] == "en"
    assert sent.url.params.get_list("roles[]") == ["admin", "user"]


async def test_proxy_answers_vendor_errors_and_raises_only_without_an_answer() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json=error_body("not_found_error", "no such user"))

    request = ProxyRequest(method="GET", path="/v1/organizations/users/user_x")
    answer = await connector_on(refuse).proxy({"api_key": ADMIN_KEY}, BASE, request)
    assert answer.status == 404 and b"not_found_error" in answer.body

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(VendorUnavailableError) as caught:
        await connector_on(down).proxy({"api_key": ADMIN_KEY}, BASE, request)
    assert ADMIN_KEY not in str(caught.value)


async def test_validate_when_anthropic_is_down_and_401_without_the_key() -> None:
    def overloaded(request: httpx.Request) -> httpx.Response:
        return httpx.Response(529, json=error_body("overloaded_error", "Overloaded"))

    with pytest.raises(VendorUnavailableError, match="overloaded"):
        await connector_on(overloaded).validate({"api_key": ADMIN_KEY}, BASE)

    def reject(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json=error_body("authentication_error", f"invalid x-api-key {ADMIN_KEY}")
        )

    with pytest.raises(CredentialsRejectedError) as caught:
        await connector_on(reject).validate({"api_key": ADMIN_KEY}, BASE)
    assert caught.value.reason == "invalid"
    assert "401" in str(caught.value) and ADMIN_KEY not in str(caught.value)
