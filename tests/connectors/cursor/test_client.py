"""CursorClient against the simulator (in-process and over real HTTP) and scripted transports."""

from __future__ import annotations

import base64
import logging
import pickle
from datetime import UTC, date, datetime

import httpx
import pytest

from unimeter.connectors.cursor.auth import CursorBasicAuth
from unimeter.connectors.cursor.errors import (
    CursorAuthError,
    CursorBadRequestError,
    CursorError,
    CursorForbiddenError,
    CursorNotFoundError,
    CursorSchemaError,
    CursorServerError,
    CursorUnavailableError,
)
from unimeter.connectors.cursor.models import UsageEvent
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.source import RequestStats

from .conftest import (
    DAY_MS,
    NOW_MS,
    START_MS,
    json_response,
    mock_client,
    sim_client,
)

# --- every typed method returns what Cursor serves ---------------------------------------


async def test_members_match_the_roster_and_keep_unknown_fields(sim: SimulatedCursor) -> None:
    async with sim_client(sim) as client:
        response = await client.verify()
    truth = {m.user_id: m for m in sim.truth().members()}
    assert {m.id for m in response.team_members} == set(truth)
    for member in response.team_members:
        assert member.email == truth[str(member.id)].email
        assert member.is_removed == (truth[str(member.id)].removed_ms is not None)
        # ``userId`` is an undocumented field the simulator adds, as Cursor does.
        assert member.model_extra == {"userId": truth[str(member.id)].numeric_id}
    assert any(m.is_removed for m in response.team_members)


async def test_daily_usage_pages_cover_every_row(sim: SimulatedCursor) -> None:
    rows: list[dict[str, object]] = []
    async with sim_client(sim) as client:
        page = 1
        while True:
            response = await client.daily_usage(START_MS, NOW_MS, page=page, page_size=7)
            assert response.pagination is not None
            rows.extend(row.raw for row in response.data)
            if not response.pagination.has_next_page:
                break
            page += 1
    assert page > 2, "the window must span several pages for this test to mean anything"
    assert rows == sim.truth().daily_usage(START_MS, NOW_MS)


async def test_daily_usage_without_paging_returns_active_rows_only(sim: SimulatedCursor) -> None:
    async with sim_client(sim) as client:
        response = await client.daily_usage(START_MS, NOW_MS)
    assert response.pagination is None
    assert {row.is_active for row in response.data} == {None}
    expected = [
        {k: v for k, v in row.items() if k != "isActive"}
        for row in sim.truth().daily_usage(START_MS, NOW_MS)
        if row["isActive"]
    ]
    key = lambda row: (row["userId"], row["date"])  # noqa: E731
    assert sorted((r.raw for r in response.data), key=key) == sorted(expected, key=key)
    assert all(row.model_extra and "cliRequests" in row.model_extra for row in response.data)


async def test_spend_pages_match_the_truth(sim: SimulatedCursor) -> None:
    truth = sim.truth().spend()
    members: list[dict[str, object]] = []
    async with sim_client(sim) as client:
        first = await client.spend(page_size=10)
        for page in range(1, first.total_pages + 1):
            response = await client.spend(page=page, page_size=10)
            members.extend(m.raw for m in response.team_member_spend)
    assert first.total_pages == 3
    assert first.total_members == truth["totalMembers"]
    assert first.subscription_cycle_start == truth["subscriptionCycleStart"]
    assert first.model_extra is not None and "limitedUsersCount" in first.model_extra
    assert members == truth["teamMemberSpend"]


async def test_spend_search_is_sent(sim: SimulatedCursor) -> None:
    target = sim.truth().spend()["teamMemberSpend"][0]
    async with sim_client(sim) as client:
        found = await client.spend(search_term=target["email"], sort_by="amount")
    assert [m.email for m in found.team_member_spend] == [target["email"]]


async def test_usage_events_pages_match_the_truth(sim: SimulatedCursor) -> None:
    events: list[UsageEvent] = []
    async with sim_client(sim) as client:
        page, total = 1, None
        while True:
            response = await client.usage_events(START_MS, NOW_MS, page=page, page_size=250)
            total = response.total_usage_events_count
            events.extend(response.usage_events)
            assert response.pagination is not None
            if not response.pagination.has_next_page:
                break
            page += 1
    expected = [e.payload for e in sim.truth().events(START_MS, NOW_MS)]
    assert page > 1
    assert total == len(expected)
    assert [e.raw for e in events] == expected
    assert all(isinstance(e.timestamp, str) for e in events)
    assert [e.timestamp_ms for e in events] == sorted(
        (e.timestamp_ms for e in events), reverse=True
    )
    assert any(e.model_extra and "priceTier" in e.model_extra for e in events)
    assert any(e.token_usage is not None and e.token_usage.total_cents > 0 for e in events)


async def test_usage_events_filter_by_email(sim: SimulatedCursor) -> None:
    truth = sim.truth().events(START_MS, NOW_MS)
    email = truth[0].email
    async with sim_client(sim) as client:
        response = await client.usage_events(START_MS, NOW_MS, email=email)
    assert response.total_usage_events_count == sum(e.email == email for e in truth)
    assert {e.user_email for e in response.usage_events} == {email}


async def test_audit_logs_pages_match_the_truth(sim: SimulatedCursor) -> None:
    start = NOW_MS - 30 * DAY_MS
    events: list[dict[str, object]] = []
    async with sim_client(sim) as client:
        page = 1
        while True:
            response = await client.audit_logs(start, NOW_MS, page=page, page_size=40)
            events.extend(e.raw for e in response.events)
            assert response.pagination is not None
            if not response.pagination.has_next_page:
                break
            page += 1
        logins = await client.audit_logs(start, NOW_MS, event_types=["login", "add_user"])
    assert page > 1
    assert events == sim.truth().audit_events(start, NOW_MS)
    assert response.params is not None and response.params.start_date == start
    assert {e.event_type for e in logins.events} <= {"login", "add_user"}
    assert len(logins.events) == sum(e["event_type"] in ("login", "add_user") for e in events)


async def test_groups_and_one_group_match_the_truth(sim: SimulatedCursor) -> None:
    truth = sim.truth()
    async with sim_client(sim) as client:
        groups = await client.groups()
        first = groups.groups[0]
        one = await client.group(first.id)
        previous = datetime.fromtimestamp(truth.cycle_start_ms() / 1000 - 86_400, tz=UTC).date()
        earlier = await client.groups(billing_cycle=previous)
        with pytest.raises(CursorNotFoundError) as missing:
            await client.group("group_does_not_exist")
    assert groups.raw == truth.groups()
    assert groups.unassigned_group is not None and groups.unassigned_group.id == "group_unassigned"
    assert one.group.id == first.id
    assert [m.user_id for m in one.group.current_members] == [
        m.user_id for m in first.current_members
    ]
    # Only the single-group endpoint breaks each member's spend down by day.
    assert any(m.daily_spend for m in one.group.current_members)
    assert not any(m.daily_spend for m in first.current_members)
    cycle_ms = int(datetime(previous.year, previous.month, previous.day, tzinfo=UTC).timestamp())
    assert earlier.raw == truth.groups(cycle_ms * 1000)
    assert earlier.billing_cycle != groups.billing_cycle
    assert missing.value.status == 404


# --- what goes on the wire ---------------------------------------------------------------


async def test_requests_carry_basic_auth_and_numeric_epoch_ms() -> None:
    key = "crsr_" + "ab" * 32
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503)  # the retry must be authenticated too
        return json_response({"data": [], "period": {"startDate": 1, "endDate": 2}})

    async with mock_client(handler, key, base_url="https://cursor.example/base/") as client:
        await client.daily_usage(1_780_000_000_000, 1_780_086_399_999, page=2, page_size=50)
    expected = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    assert [r.headers["authorization"] for r in seen] == [expected, expected]
    assert str(seen[0].url) == "https://cursor.example/base/teams/daily-usage-data"
    assert seen[0].headers["content-type"] == "application/json"
    assert seen[0].content == (
        b'{"startDate":1780000000000,"endDate":1780086399999,"page":2,"pageSize":50}'
    )


async def test_query_parameters_of_get_endpoints() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/teams/audit-logs":
            return json_response({"events": []})
        return json_response({"groups": []})

    async with mock_client(handler) as client:
        await client.audit_logs(5, 6, page=3, page_size=9, event_types=["login", "logout"])
        await client.groups(date(2026, 5, 7))
    assert dict(seen[0].params) == {
        "startTime": "5",
        "endTime": "6",
        "page": "3",
        "pageSize": "9",
        "eventTypes": "login,logout",
    }
    assert dict(seen[1].params) == {"billingCycle": "2026-05-07"}


async def test_argument_mistakes_fail_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    async with mock_client(handler) as client:
        with pytest.raises(ValueError, match="together"):
            await client.daily_usage(1, 2, page=1)
        with pytest.raises(TypeError):
            await client.usage_events(1.78e12, 2)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="path"):
            await client.raw_request("GET", "https://elsewhere.example/teams/members")
        with pytest.raises(ValueError, match="path"):
            await client.raw_request("GET", "//elsewhere.example/teams/members")
        with pytest.raises(ValueError, match="path"):
            await client.raw_request("GET", "teams/members")
    assert client.stats.requests == 0


# --- errors ------------------------------------------------------------------------------


async def test_a_wrong_key_is_an_auth_error_after_one_request(sim: SimulatedCursor) -> None:
    wrong = "crsr_" + "9" * 64
    async with sim_client(sim, wrong) as client:
        with pytest.raises(CursorAuthError) as caught:
            await client.members()
    assert client.stats == RequestStats(requests=1)
    assert caught.value.status == 401
    assert caught.value.endpoint == "/teams/members"
    assert caught.value.body == {"error": "Unauthorized", "message": "Invalid API key"}
    assert not caught.value.transient
    assert wrong not in str(caught.value) and "\n" not in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))  # errors may cross process boundaries
    assert (type(copy), str(copy), copy.status, copy.endpoint) == (
        CursorAuthError,
        str(caught.value),
        401,
        "/teams/members",
    )


async def test_a_revoked_key_starts_failing(sim: SimulatedCursor) -> None:
    key = sim.keys[0]
    async with sim_client(sim) as client:
        assert (await client.members()).team_members
        sim.revoke(key)
        with pytest.raises(CursorAuthError):
            await client.members()
    assert client.stats.requests == 2


async def test_a_range_over_30_days_is_a_bad_request_and_not_retried(
    sim: SimulatedCursor,
) -> None:
    async with sim_client(sim) as client:
        with pytest.raises(CursorBadRequestError) as caught:
            await client.daily_usage(NOW_MS - 31 * DAY_MS, NOW_MS)
    assert client.stats.requests == 1 and client.stats.retries == 0
    assert caught.value.status == 400
    assert "30 days" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (403, CursorForbiddenError),
        (404, CursorNotFoundError),
        (409, CursorBadRequestError),
        (422, CursorBadRequestError),
    ],
)
async def test_other_client_errors_are_mapped_and_not_retried(
    status: int, error: type[CursorError]
) -> None:
    body = {"error": "Forbidden", "message": "Enterprise access required"}
    async with mock_client(lambda _: json_response(body, status)) as client:
        with pytest.raises(error) as caught:
            await client.spend()
    assert type(caught.value) is error
    assert client.stats.requests == 1
    assert str(caught.value).endswith("Enterprise access required")


async def test_a_body_of_the_wrong_shape_is_a_schema_error() -> None:
    async with mock_client(lambda _: json_response({"members": []})) as client:
        with pytest.raises(CursorSchemaError, match="teamMembers"):
            await client.members()
    assert client.stats.requests == 1


# --- counters and pools ------------------------------------------------------------------


async def test_with_stats_counts_separately_on_the_same_pool(sim: SimulatedCursor) -> None:
    client = sim_client(sim)
    mine = RequestStats()
    view = client.with_stats(mine)
    await view.members()
    await view.aclose()  # a view does not own the pool
    await client.members()
    await client.members()
    await client.aclose()
    assert mine.requests == 1 and client.stats.requests == 2
    total = RequestStats()
    total.merge(mine)
    total.merge(client.stats)
    assert total == RequestStats(requests=3)
    with pytest.raises(RuntimeError):
        await client.members()


# --- the key never leaks -----------------------------------------------------------------


async def test_the_key_never_appears_in_errors_reprs_or_logs(
    sim: SimulatedCursor, caplog: pytest.LogCaptureFixture
) -> None:
    key = sim.keys[0]
    token = base64.b64encode(f"{key}:".encode()).decode()

    def echo(request: httpx.Request) -> httpx.Response:
        # A hostile or buggy server echoing the credentials back in every way it can.
        text = f"bad key {key} / {request.headers['authorization']}"
        if request.url.path == "/teams/spend":
            raise httpx.ConnectError(text, request=request)
        if request.url.path == "/teams/groups":
            return httpx.Response(502, text=f"<html><body>{text}</body></html>")
        return json_response({"error": "Unauthorized", "message": text}, 401)

    caught: list[CursorError] = []
    caplog.set_level(logging.DEBUG)
    async with sim_client(sim) as client, mock_client(echo, key) as echoing:
        await client.members()
        sim.revoke(key)
        for call in (client.members, echoing.members, echoing.spend, echoing.groups):
            with pytest.raises(CursorError) as error:
                await call()
            caught.append(error.value)
        texts = [repr(client), repr(echoing), repr(CursorBasicAuth(key))]
    assert [type(e) for e in caught] == [
        CursorAuthError,
        CursorAuthError,
        CursorUnavailableError,
        CursorServerError,
    ]
    texts += [str(e) for e in caught] + [repr(e) for e in caught]
    texts += [record.getMessage() for record in caplog.records]
    assert any("crsr_…" in text for text in texts), "the masked hint replaces the key"
    assert len(caplog.records) > 10
    for text in texts:
        assert key not in text and token not in text
        assert key[5:25] not in text
