"""AnthropicClient over a mock transport: headers, params, paging, retries, errors."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import httpx
import pytest

from unimeter import __version__
from unimeter.connectors.anthropic.client import encode_params
from unimeter.connectors.anthropic.errors import (
    AnthropicAuthError,
    AnthropicBadRequestError,
    AnthropicNotFoundError,
    AnthropicPermissionError,
    AnthropicRateLimitError,
    AnthropicServerError,
    AnthropicUnavailableError,
)
from unimeter.connectors.anthropic.retry import parse_retry_after, retry_after

from .conftest import ADMIN_KEY, error_body, mock_client

USERS = "/v1/organizations/users"
REPORT = "/v1/organizations/usage_report/claude_code"


async def test_headers_and_bracket_params() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": [], "has_more": False, "next_page": None})

    async with mock_client(handler) as client:
        pages = client.token_pages(
            "/v1/organizations/usage_report/messages",
            {"starting_at": "2026-01-01T00:00:00Z", "group_by": ("model", "workspace_id")},
        )
        assert [page async for page in pages] == [[]]
    request = seen[0]
    assert request.headers["x-api-key"] == ADMIN_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["user-agent"] == f"unimeter/{__version__} (+https://github.com/unimeter)"
    query = request.url.query.decode()
    assert "group_by%5B%5D=model&group_by%5B%5D=workspace_id" in query
    assert request.url.params.get_list("group_by[]") == ["model", "workspace_id"]
    assert "page" not in request.url.params  # no token on the first page


def test_encode_params() -> None:
    assert encode_params(
        {"a": 1, "b": True, "c": None, "group_by[]": ["x"], "ids": ("p", "q"), "s": "t"}
    ) == [("a", "1"), ("b", "true"), ("group_by[]", "x"), ("ids[]", "p"), ("ids[]", "q"),
          ("s", "t")]  # fmt: skip


async def test_id_cursor_paging() -> None:
    ids = [f"user_{n:02d}" for n in range(5)]
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        start = ids.index(params["after_id"]) + 1 if "after_id" in params else 0
        chunk = ids[start : start + int(params["limit"])]
        return httpx.Response(
            200,
            json={
                "data": [{"id": i} for i in chunk],
                "has_more": start + len(chunk) < len(ids),
                "first_id": chunk[0] if chunk else None,
                "last_id": chunk[-1] if chunk else None,
            },
        )

    async with mock_client(handler) as client:
        pages = [page async for page in client.id_pages(USERS, limit=2)]
    assert [[u["id"] for u in page] for page in pages] == [ids[0:2], ids[2:4], ids[4:5]]
    assert [a.get("after_id") for a in asked] == [None, "user_01", "user_03"]
    assert {a["limit"] for a in asked} == {"2"}


@pytest.mark.parametrize("end", ["null", "absent", "has_more_false"])
async def test_page_token_paging(end: str) -> None:
    asked: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params)
        token = request.url.params.get("page")
        if token is None:
            return httpx.Response(
                200, json={"data": [{"n": 1}], "has_more": True, "next_page": "p2"}
            )
        last: dict[str, Any] = {"data": [{"n": 2}], "has_more": end != "has_more_false"}
        if end == "null":
            last["next_page"] = None
        if end == "has_more_false":
            last["next_page"] = "p3"  # ignored: has_more says it is the end
        return httpx.Response(200, json=last)

    async with mock_client(handler) as client:
        pages = [p async for p in client.token_pages(REPORT, {"starting_at": "2026-01-02"})]
    assert pages == [[{"n": 1}], [{"n": 2}]]
    assert [p.get("page") for p in asked] == [None, "p2"]
    # Every other parameter is unchanged while the token is followed.
    assert {p["starting_at"] for p in asked} == {"2026-01-02"}


async def test_429_honours_retry_after_and_counts() -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            headers = {"retry-after": "0.004"} if calls["n"] == 1 else {"retry-after-ms": "3"}
            return httpx.Response(
                429, json=error_body("rate_limit_error", "slow down"), headers=headers
            )
        return httpx.Response(200, json={"id": "org"})

    async with mock_client(handler) as client:
        assert await client.get("/v1/organizations/me") == {"id": "org"}
        stats = client.stats
    assert (stats.requests, stats.retries, stats.rate_limited, stats.errors) == (3, 2, 2, 0)
    # Capped by the test policy's max_retry_after (0.01): 0.004 + 0.003 honoured as sent.
    assert stats.backoff_seconds == pytest.approx(0.007)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 529])
async def test_server_errors_are_retried(status: int) -> None:
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(status, text="<html><body>Bad gateway</body></html>")
        return httpx.Response(200, json={"ok": True})

    async with mock_client(handler) as client:
        assert await client.get("/v1/organizations/me") == {"ok": True}
        assert client.stats.errors == 1


async def test_transport_errors_and_bad_json_are_retried_then_fail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async with mock_client(handler) as client:
        with pytest.raises(AnthropicUnavailableError, match="after 6 attempts"):
            await client.get("/v1/organizations/me")
        assert client.stats.requests == 6

    async with mock_client(lambda r: httpx.Response(200, text="{trunc")) as client:
        with pytest.raises(AnthropicUnavailableError, match="invalid JSON"):
            await client.get("/v1/organizations/me")


@pytest.mark.parametrize(
    ("status", "kind", "error"),
    [
        (400, "invalid_request_error", AnthropicBadRequestError),
        (401, "authentication_error", AnthropicAuthError),
        (403, "permission_error", AnthropicPermissionError),
        (404, "not_found_error", AnthropicNotFoundError),
        (402, "billing_error", AnthropicBadRequestError),  # unknown type: by status
        (403, "brand_new_error", AnthropicPermissionError),
    ],
)
async def test_other_4xx_are_not_retried(status: int, kind: str, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json=error_body(kind, "no"), headers={"request-id": "req_0123"}
        )

    async with mock_client(handler) as client:
        with pytest.raises(error) as caught:
            await client.get(USERS)
        assert client.stats.requests == 1
    assert getattr(caught.value, "request_id", None) == "req_0123"
    assert getattr(caught.value, "error_type", None) == kind
    assert "req_0123" in str(caught.value)


async def test_exhausted_429_and_5xx_raise_their_errors() -> None:
    async with mock_client(lambda r: httpx.Response(429, headers={"retry-after": "0"})) as c:
        with pytest.raises(AnthropicRateLimitError):
            await c.get(USERS)
    body = error_body("overloaded_error", "Overloaded")
    async with mock_client(lambda r: httpx.Response(529, json=body)) as c:
        with pytest.raises(AnthropicServerError, match="overloaded_error"):
            await c.get(USERS)


async def test_the_key_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        # A server that echoes the key back in its error message.
        message = f"invalid x-api-key {request.headers['x-api-key']}"
        return httpx.Response(401, json=error_body("authentication_error", message))

    caplog.set_level(logging.DEBUG, logger="unimeter.anthropic")
    async with mock_client(echo) as client:
        with pytest.raises(AnthropicAuthError) as caught:
            await client.get(USERS)
        assert ADMIN_KEY not in repr(client)
    assert ADMIN_KEY not in str(caught.value) and ADMIN_KEY not in repr(caught.value)
    assert "invalid x-api-key" in str(caught.value)
    assert ADMIN_KEY not in caplog.text


async def test_absolute_urls_are_refused() -> None:
    async with mock_client(lambda r: httpx.Response(200, json={})) as client:
        with pytest.raises(ValueError, match="path"):
            await client.get("https://elsewhere.test/v1/organizations/me")


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "7"})) == 1.5
    assert retry_after(httpx.Headers({})) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
