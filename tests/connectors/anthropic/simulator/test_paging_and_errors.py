"""Both paging schemes, documented limits and the 400/404 answers, in Anthropic's shape."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import httpx
import pytest

from unimeter.connectors.anthropic.simulator import SimulatedAnthropic

from .conftest import BASE, TODAY

MESSAGES = f"{BASE}/usage_report/messages"
COST = f"{BASE}/cost_report"
CODE = f"{BASE}/usage_report/claude_code"


def _assert_error(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == kind
    assert isinstance(body["error"]["message"], str)
    assert body["request_id"] == response.headers["request-id"]
    assert body["request_id"].startswith("req_")


async def test_id_cursor_pages_forward_and_back(client: httpx.AsyncClient) -> None:
    everything = (await client.get(f"{BASE}/users", params={"limit": 1000})).json()
    ids = [u["id"] for u in everything["data"]]
    assert not everything["has_more"]
    forward: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = (await client.get(f"{BASE}/users", params=params)).json()
        assert page["first_id"] == page["data"][0]["id"]
        assert page["last_id"] == page["data"][-1]["id"]
        forward += [u["id"] for u in page["data"]]
        if not page["has_more"]:
            break
        params = {"limit": 4, "after_id": page["last_id"]}
    assert forward == ids
    backward: list[str] = []
    params = {"limit": 4, "before_id": page["last_id"]}
    while True:
        page = (await client.get(f"{BASE}/users", params=params)).json()
        backward = [u["id"] for u in page["data"]] + backward
        if not page["has_more"]:
            break
        params = {"limit": 4, "before_id": page["first_id"]}
    assert backward == ids[:-1]


async def test_an_empty_id_page_has_null_ids(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{BASE}/users", params={"email": "nobody@nowhere.dev"})).json()
    assert body == {"data": [], "has_more": False, "first_id": None, "last_id": None}


async def test_users_filter_by_email_and_get_by_id(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    someone = next(u for u in sim.truth().users() if u.removed_at_ms is None)
    found = (await client.get(f"{BASE}/users", params={"email": someone.email})).json()["data"]
    assert [u["id"] for u in found] == [someone.id]
    one = (await client.get(f"{BASE}/users/{someone.id}")).json()
    assert one == found[0]


async def test_workspaces_hide_archived_unless_asked(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    shown = (await client.get(f"{BASE}/workspaces")).json()["data"]
    every = (await client.get(f"{BASE}/workspaces", params={"include_archived": "true"})).json()
    assert every["data"] == sim.truth().workspaces()
    assert len(every["data"]) == len(shown) + 1
    archived = [w for w in every["data"] if w["archived_at"]]
    assert len(archived) == 1
    members = (await client.get(f"{BASE}/workspaces/{shown[0]['id']}/members")).json()
    assert members["data"]
    assert all(m["type"] == "workspace_member" for m in members["data"])
    assert members["first_id"] == members["data"][0]["user_id"]


async def test_api_keys_filters(client: httpx.AsyncClient, sim: SimulatedAnthropic) -> None:
    every = (await client.get(f"{BASE}/api_keys")).json()["data"]
    assert every == sim.truth().api_keys()
    assert {k["status"] for k in every} == {"active", "inactive", "archived"}
    for status in ("active", "inactive", "archived"):
        got = (await client.get(f"{BASE}/api_keys", params={"status": status})).json()["data"]
        assert got == [k for k in every if k["status"] == status]
    some = next(k for k in every if k["workspace_id"])
    got = (
        await client.get(f"{BASE}/api_keys", params={"workspace_id": some["workspace_id"]})
    ).json()
    assert got["data"] == [k for k in every if k["workspace_id"] == some["workspace_id"]]
    creator = next(k for k in every if k["created_by"])["created_by"]["id"]
    params = {"created_by_user_id": creator}
    got = (await client.get(f"{BASE}/api_keys", params=params)).json()
    assert got["data"] == [k for k in every if (k["created_by"] or {}).get("id") == creator]


async def test_invites_are_listed_but_not_users(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    invites = (await client.get(f"{BASE}/invites")).json()["data"]
    assert {i["status"] for i in invites} == {"pending", "expired"}
    emails = {u.email for u in sim.truth().users()}
    assert not emails & {i["email"] for i in invites}


async def test_report_tokens_page_through_and_include_empty_buckets(
    client: httpx.AsyncClient, sim: SimulatedAnthropic
) -> None:
    start = sim.truth().history_start.toordinal() - 10  # ten days before any data
    params: dict[str, Any] = {
        "starting_at": f"{_iso_day(start)}T00:00:00Z",
        "ending_at": f"{TODAY.isoformat()}T00:00:00Z",
    }
    buckets: list[dict[str, Any]] = []
    pages = 0
    while True:
        body = (await client.get(MESSAGES, params=params)).json()
        assert len(body["data"]) <= 7  # the default limit of 1d buckets
        buckets += body["data"]
        pages += 1
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        assert body["next_page"].startswith("page_")
        params["page"] = body["next_page"]
    days = TODAY.toordinal() - start
    assert len(buckets) == days
    assert pages == -(-days // 7)
    assert all(b["results"] == [] for b in buckets[:10])
    assert all(b["ending_at"] == n["starting_at"] for b, n in pairwise(buckets))


def _iso_day(ordinal: int) -> str:
    from datetime import date

    return date.fromordinal(ordinal).isoformat()


@pytest.mark.parametrize(
    ("width", "default", "maximum"), [("1d", 7, 31), ("1h", 24, 168), ("1m", 60, 1440)]
)
async def test_bucket_limits_per_width(
    client: httpx.AsyncClient, width: str, default: int, maximum: int
) -> None:
    start: dict[str, Any] = {"starting_at": "2026-05-01T00:00:00Z", "bucket_width": width}
    body = (await client.get(MESSAGES, params=start)).json()
    assert len(body["data"]) == default
    body = (await client.get(MESSAGES, params={**start, "limit": maximum})).json()
    assert len(body["data"]) == maximum
    _assert_error(
        await client.get(MESSAGES, params={**start, "limit": maximum + 1}),
        400,
        "invalid_request_error",
    )


async def test_cost_report_limit_and_width(client: httpx.AsyncClient) -> None:
    start: dict[str, Any] = {"starting_at": "2026-05-01T00:00:00Z"}
    assert len((await client.get(COST, params=start)).json()["data"]) == 7
    assert len((await client.get(COST, params={**start, "limit": 31})).json()["data"]) == 31
    for bad in ({"limit": 32}, {"limit": 0}, {"bucket_width": "1h"}):
        _assert_error(await client.get(COST, params={**start, **bad}), 400, "invalid_request_error")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{BASE}/users", {"limit": 0}),
        (f"{BASE}/users", {"limit": 1001}),
        (f"{BASE}/users", {"limit": "ten"}),
        (f"{BASE}/users", {"after_id": "user_01a", "before_id": "user_01b"}),
        (f"{BASE}/users", {"after_id": "apikey_01xyz"}),
        (CODE, {}),
        (CODE, {"starting_at": "2026-06-01T00:00:00Z"}),
        (CODE, {"starting_at": "2026-02-30"}),
        (CODE, {"starting_at": "2026-06-16"}),
        (CODE, {"starting_at": "2026-06-10", "page": "nonsense"}),
        (MESSAGES, {}),
        (MESSAGES, {"starting_at": "yesterday"}),
        (MESSAGES, {"starting_at": "2026-06-10T00:00:00Z", "group_by[]": "colour"}),
        (MESSAGES, {"starting_at": "2026-06-10T00:00:00Z", "bucket_width": "1w"}),
        (MESSAGES, {"starting_at": "2026-06-10T00:00:00Z", "ending_at": "2026-06-09T00:00:00Z"}),
        (MESSAGES, {"starting_at": "2026-06-10T00:00:00Z", "page": "page_bm9wZQ=="}),
        (COST, {"starting_at": "2026-06-10T00:00:00Z", "group_by[]": "model"}),
    ],
)
async def test_bad_requests_are_400(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> None:
    _assert_error(await client.get(path, params=params), 400, "invalid_request_error")


async def test_a_token_of_another_query_is_refused(client: httpx.AsyncClient) -> None:
    params: dict[str, Any] = {"starting_at": "2026-05-01T00:00:00Z", "limit": 2}
    token = (await client.get(MESSAGES, params=params)).json()["next_page"]
    changed = {**params, "group_by[]": "model", "page": token}
    _assert_error(await client.get(MESSAGES, params=changed), 400, "invalid_request_error")
    same = await client.get(MESSAGES, params={**params, "page": token})
    assert same.status_code == 200
    code: dict[str, Any] = {"starting_at": "2026-06-10", "limit": 1}
    code_token = (await client.get(CODE, params=code)).json()["next_page"]
    other_day = {"starting_at": "2026-06-09", "limit": 1, "page": code_token}
    _assert_error(await client.get(CODE, params=other_day), 400, "invalid_request_error")


async def test_unknown_paths_and_ids_are_404(client: httpx.AsyncClient) -> None:
    for path in (
        f"{BASE}/nothing",
        f"{BASE}/users/user_01unknown",
        f"{BASE}/workspaces/wrkspc_01unknown",
        f"{BASE}/workspaces/wrkspc_01unknown/members",
        f"{BASE}/api_keys/apikey_01unknown",
        f"{BASE}/invites/invite_01unknown",
    ):
        _assert_error(await client.get(path), 404, "not_found_error")


async def test_unknown_query_keys_and_the_bare_array_form(client: httpx.AsyncClient) -> None:
    base: dict[str, Any] = {"starting_at": "2026-06-10T00:00:00Z", "limit": 1}
    bracket = await client.get(MESSAGES, params={**base, "group_by[]": "model", "beta": "true"})
    bare = await client.get(MESSAGES, params={**base, "group_by": "model"})
    assert bracket.status_code == bare.status_code == 200
    assert bracket.json()["data"] == bare.json()["data"]
    response = await client.get(f"{BASE}/me", params={"beta": "true"})
    assert response.status_code == 200
