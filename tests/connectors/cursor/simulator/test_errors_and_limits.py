"""Authentication, validation and rate limits, with Cursor's documented error bodies."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from unimeter.connectors.cursor.simulator import SimulatedCursor

from .conftest import NOW_MS, client_for, make_sim

DAY = 86_400_000
UNAUTHORIZED = {"error": "Unauthorized", "message": "Invalid API key"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer crsr_whatever"},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + base64.b64encode(b"crsr_unknown:").decode()},
    ],
)
async def test_missing_or_wrong_basic_auth_is_401(
    sim: SimulatedCursor, headers: dict[str, str]
) -> None:
    async with client_for(sim) as client:
        client.auth = None  # type: ignore[assignment]
        response = await client.get("/teams/members", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


async def test_both_key_prefixes_and_several_teams() -> None:
    keys = ("key_" + "a" * 64, "crsr_" + "b" * 64)
    sim = make_sim(api_keys=keys)
    rosters = []
    for key in keys:
        async with client_for(sim, key) as client:
            response = await client.get("/teams/members")
        assert response.status_code == 200
        rosters.append({m["email"] for m in response.json()["teamMembers"]})
    assert rosters[0].isdisjoint(rosters[1]), "each key is a separate team with its own data"


@pytest.mark.parametrize(
    ("path", "body", "message_part"),
    [
        (
            "/teams/filtered-usage-events",
            {"startDate": NOW_MS - 31 * DAY, "endDate": NOW_MS},
            "30 days",
        ),
        ("/teams/daily-usage-data", {"startDate": NOW_MS - 31 * DAY, "endDate": NOW_MS}, "30 days"),
        ("/teams/filtered-usage-events", {"pageSize": 1001}, "pageSize"),
        ("/teams/filtered-usage-events", {"pageSize": 0}, "pageSize"),
        ("/teams/filtered-usage-events", {"page": 0}, "page"),
        ("/teams/filtered-usage-events", {"startDate": "1780000000000"}, "startDate"),
        ("/teams/filtered-usage-events", {"endDate": True}, "endDate"),
        ("/teams/filtered-usage-events", {"userId": "abc"}, "userId"),
        ("/teams/filtered-usage-events", {"email": 42}, "email"),
        ("/teams/filtered-usage-events", {"hostingType": "ON_PREM"}, "hostingType"),
        ("/teams/filtered-usage-events", {"startDate": NOW_MS, "endDate": NOW_MS - 1}, "before"),
        ("/teams/daily-usage-data", {"page": 1, "pageSize": "10"}, "pageSize"),
        ("/teams/spend", {"sortBy": "size"}, "sortBy"),
        ("/teams/spend", {"page": -1}, "page"),
    ],
)
async def test_bad_requests_are_400_with_the_documented_body(
    client: httpx.AsyncClient, path: str, body: dict[str, object], message_part: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["error"] == "Bad Request"
    assert message_part in payload["message"]


async def test_a_range_of_exactly_30_days_is_allowed(client: httpx.AsyncClient) -> None:
    end = NOW_MS // DAY * DAY - 1
    response = await client.post(
        "/teams/filtered-usage-events", json={"startDate": end + 1 - 30 * DAY, "endDate": end}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"startTime": "45d"},
        {"startTime": "not-a-time"},
        {"startTime": "now", "endTime": "7d"},
        {"pageSize": "501"},
        {"eventTypes": "login,teleport"},
    ],
)
async def test_audit_log_errors(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await client.get("/teams/audit-logs", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


async def test_invalid_json_and_unknown_routes(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/teams/spend", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    missing = await client.get("/v1/teams/members")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    wrong_method = await client.get("/teams/spend")
    assert wrong_method.status_code == 405


async def test_admin_rate_limit_is_20_per_minute_with_retry_after() -> None:
    sim = make_sim(rate_limits="real", minute_seconds=30)
    async with client_for(sim) as client:
        statuses = [(await client.get("/teams/members")).status_code for _ in range(20)]
        assert statuses == [200] * 20
        limited = await client.get("/teams/members")
        assert limited.status_code == 429
        assert limited.json() == {"code": "error", "message": "Rate limit exceeded"}
        assert 1 <= int(limited.headers["retry-after"]) <= 30
        # Another endpoint group has its own budget.
        events = await client.post("/teams/filtered-usage-events", json={"pageSize": 1})
        assert events.status_code == 200
    other = make_sim(rate_limits="real", minute_seconds=30, api_keys=("key_a", "key_b"))
    async with client_for(other, "key_a") as a, client_for(other, "key_b") as b:
        for _ in range(20):
            await a.get("/teams/members")
        assert (await a.get("/teams/members")).status_code == 429
        assert (await b.get("/teams/members")).status_code == 200, "limits are per team"


@pytest.mark.parametrize(
    ("path", "limit", "body"),
    [
        ("/teams/filtered-usage-events", 60, {"pageSize": 1}),
        ("/teams/remove-member", 50, {"email": "nobody@example.com"}),
        (
            "/teams/user-spend-limit",
            250,
            {"userEmail": "nobody@example.com", "spendLimitDollars": 5},
        ),
    ],
)
async def test_endpoint_group_limits(path: str, limit: int, body: dict[str, object]) -> None:
    sim = make_sim(rate_limits="real", minute_seconds=60)
    async with client_for(sim) as client:
        for _ in range(limit):
            assert (await client.post(path, json=body)).status_code != 429
        limited = await client.post(path, json=body)
    assert limited.status_code == 429
    assert "retry-after" in limited.headers


async def test_rate_limit_window_resets_after_a_scaled_minute() -> None:
    sim = make_sim(rate_limits="real", minute_seconds=0.5)
    async with client_for(sim) as client:
        for _ in range(20):
            await client.get("/teams/members")
        assert (await client.get("/teams/members")).status_code == 429
        # Refused requests do not count, so polling until the next window opens is harmless.
        deadline = time.monotonic() + 10
        while (await client.get("/teams/members")).status_code == 429:
            assert time.monotonic() < deadline, "the window never reset"


async def test_read_only_keys_authenticate_without_the_admin_scope() -> None:
    read_only = "crsr_" + "r" * 64
    sim = make_sim(read_only_keys=(read_only,))
    async with client_for(sim, read_only) as client:
        response = await client.get("/teams/members")
    assert response.status_code == 401
    assert response.json() == {
        "error": "Unauthorized",
        "message": "API key missing required scope: admin:*",
    }
    with pytest.raises(ValueError, match="both"):
        make_sim(api_keys=(read_only,), read_only_keys=(read_only,))
