"""Unified Usage Metering API: users and usage, checked against the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from tests.support.api import ApiWorld, api_world
from tests.support.databases import SQLiteDatabases

pytestmark = pytest.mark.asyncio(loop_scope="module")
USERS = "/unified/usage-metering/users"
USAGE = "/unified/usage-metering/usage"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(
    sqlite_databases: SQLiteDatabases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiWorld]:
    """One synced world shared by the read-only tests of this module."""
    async with api_world(sqlite_databases.create(), tmp_path_factory.mktemp("data")) as world:
        yield world


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


async def _walk(api: ApiWorld, path: str, **params: Any) -> list[dict[str, Any]]:
    rows, cursor = [], None
    params = {"integrated_account_id": api.accounts["default"], "limit": 500, **params}
    while True:
        page = await api.get(path, **({**params, "next_cursor": cursor} if cursor else params))
        assert page.status_code == 200, page.text
        body = page.json()
        rows += body["result"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


async def test_users_match_the_roster(api: ApiWorld) -> None:
    users = await _walk(api, USERS)
    truth = {m.user_id: m for m in api.sim.truth(api.sim.keys[0]).members()}
    assert {u["id"] for u in users} == set(truth)
    for u in users:
        m = truth[u["id"]]
        assert u["emails"] == [{"email": m.email, "is_primary": True}]
        assert u["name"] == m.name
        assert u["status"] == ("deleted" if m.removed_ms else "active")
        assert u["roles"][0]["id"] == m.role
        assert u["remote_data"]["email"] == m.email
        assert u["organization"]["id"] == api.accounts["default"]
    limited = [u for u in users if u["spend_limit"]]
    assert limited
    assert all(u["spend_limit"]["currency"] == "USD" for u in limited)
    assert any(u["last_active_at"] for u in users)


async def test_last_active_is_each_users_newest_event(api: ApiWorld) -> None:
    """A sync keeps the latest activity on the member; it is their newest event's time
    (the simulator's truth, computed here), to the millisecond. Current members only: Cursor
    blanks the email of a removed member's events, and not all of them can be attributed."""
    users = await _walk(api, USERS)
    newest: dict[str, int] = {}
    for event in api.sim.truth(api.sim.keys[0]).events():
        newest[event.user_id] = max(newest.get(event.user_id, 0), event.timestamp_ms)
    with_events = [u for u in users if u["id"] in newest and u["status"] == "active"]
    assert with_events
    for u in with_events:
        expected = dt.datetime.fromtimestamp(newest[u["id"]] / 1000, tz=dt.UTC)
        got = dt.datetime.fromisoformat(u["last_active_at"].replace("Z", "+00:00"))
        assert got == expected, u["id"]


async def test_user_filters_and_get(api: ApiWorld) -> None:
    deleted = await _walk(api, USERS, status="deleted")
    assert deleted
    assert {u["status"] for u in deleted} == {"deleted"}
    one = deleted[0]
    by_email = await _walk(api, USERS, email=one["emails"][0]["email"].upper())
    assert [u["id"] for u in by_email] == [one["id"]]
    got = await api.get(f"{USERS}/{one['id']}", integrated_account_id=api.accounts["default"])
    assert got.json()["id"] == one["id"]
    assert await _walk(api, USERS, status="invited") == []
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert await _walk(api, USERS, updated_after=future) == []


async def test_default_grain_rows_equal_daily_usage_and_events(api: ApiWorld) -> None:
    truth = api.sim.truth(api.sim.keys[0])
    removed = {m.email for m in truth.members() if m.removed_ms is not None}
    start, end = dt.date(2026, 6, 1), dt.date(2026, 6, 15)
    rows = await _walk(api, USAGE, start_date=start.isoformat(), end_date=end.isoformat())
    daily = {
        (r["day"], r["email"]): r
        for r in truth.daily_usage()
        if start.isoformat() <= r["day"] < end.isoformat()
    }
    charged: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    tokens: dict[tuple[str, str], int] = defaultdict(int)
    for e in truth.events():
        day = _day(e.timestamp_ms)
        if start <= day < end:
            charged[(day.isoformat(), e.email)] += Decimal(str(e.payload["chargedCents"]))
            usage = e.payload.get("tokenUsage") or {}
            tokens[(day.isoformat(), e.email)] += sum(
                usage.get(k, 0)
                for k in ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens")
            )
    assert rows
    for row in rows:
        if row["user"] is None:
            continue  # events Cursor no longer attributes (checked in the aggregate test)
        key = (row["start_date"][:10], row["user"]["email"])
        source = daily[key]
        requests = row["usage"]["requests"]
        assert requests["chat"] == source["chatRequests"]
        assert requests["included"] == source["subscriptionIncludedReqs"]
        assert row["usage"]["code"]["lines_added"] == source["totalLinesAdded"]
        assert row["usage"]["activity"]["is_active"] is source["isActive"]
        assert row["remote_data"]["daily_usage"] == source
        if key[1] in removed:
            continue  # some of their events lost the email; the aggregate test covers them
        assert row["usage"]["tokens"]["total"] == tokens[key]
        total = next(c for c in row["charges"] if c["type"] == "total")
        assert Decimal(total["amount"]) * 100 == charged[key].quantize(Decimal("0.000001"))
        assert row["product"] == {"id": "cursor", "name": "Cursor"}
    active_keys = {k for k, r in daily.items() if r["isActive"]}
    assert active_keys <= {(r["start_date"][:10], r["user"]["email"]) for r in rows if r["user"]}


async def test_user_model_month_aggregates_equal_the_events(api: ApiWorld) -> None:
    truth = api.sim.truth(api.sim.keys[0])
    start, end = dt.date(2026, 5, 1), dt.date(2026, 7, 1)
    rows = await _walk(
        api, USAGE, start_date=start.isoformat(), end_date=end.isoformat(),
        **{"group_by[]": ["user", "model"], "granularity": "month"},
    )  # fmt: skip
    expected: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0, 0])
    for e in truth.events():
        day = _day(e.timestamp_ms)
        if start <= day < end:
            bucket = expected[(f"{day:%Y-%m}-01", e.email, e.payload["model"])]
            bucket[0] += Decimal(str(e.payload["chargedCents"]))
            bucket[1] += (e.payload.get("tokenUsage") or {}).get("inputTokens", 0)
            bucket[2] += 1
    got: dict[tuple[str, str, str], list[Any]] = {}
    for r in rows:
        assert r["model"]["provider"] in ("anthropic", "openai", "google", "xai", "cursor")
        assert "activity" not in r["usage"]
        email = r["user"]["email"] if r["user"] else ""  # "": unattributed
        total = next(c for c in r["charges"] if c["type"] == "total")
        got[(r["start_date"][:10], email, r["model"]["id"])] = [
            Decimal(total["amount"]) * 100,
            r["usage"]["tokens"]["input"],
            r["usage"]["requests"]["total"],
        ]
    removed = {m.email for m in truth.members() if m.removed_ms is not None}
    attributed = {k: v for k, v in got.items() if k[1]}
    assert set(attributed) <= set(expected)
    for key, (cents, input_tokens, count) in attributed.items():
        if key[1] in removed:
            # Only the events we could attribute count here; the rest are unattributed.
            assert count <= expected[key][2], key
            continue
        assert (input_tokens, count) == tuple(expected[key][1:]), key
        assert cents == expected[key][0].quantize(Decimal("0.000001")), key
    kept = {k for k in expected if k[1] not in removed}
    assert kept <= set(attributed), "every current member's usage is attributed"
    total_got = sum(v[0] for v in got.values())
    total_expected = sum(v[0] for v in expected.values())
    assert total_got == total_expected.quantize(Decimal("0.000001")), "unattributed usage is kept"


async def test_total_granularity_and_surface_grouping(api: ApiWorld) -> None:
    rows = await _walk(api, USAGE, **{"group_by[]": ["surface"], "granularity": "total",
                                        "start_date": "2026-05-01", "end_date": "2026-06-16"})  # fmt: skip
    surfaces = {r["surface"] for r in rows}
    assert {"ide", "cloud_agent"} <= surfaces
    assert all(r["user"] is None and r["model"] is None for r in rows)
    assert {r["start_date"] for r in rows} == {"2026-05-01T00:00:00Z"}
    assert {r["end_date"] for r in rows} == {"2026-06-16T00:00:00Z"}
    only_ide = await _walk(api, USAGE, **{"group_by[]": ["surface"], "granularity": "total",
                                           "surfaces[]": ["ide"], "start_date": "2026-05-01",
                                           "end_date": "2026-06-16"})  # fmt: skip
    assert [r["surface"] for r in only_ide] == ["ide"]


async def test_get_usage_by_id_and_response_options(api: ApiWorld) -> None:
    rows = await _walk(api, USAGE, start_date="2026-06-10", end_date="2026-06-12")
    row = rows[0]
    account = api.accounts["default"]
    got = await api.get(f"{USAGE}/{row['id']}", integrated_account_id=account)
    assert got.status_code == 200
    assert got.json() == row
    slim = await _walk(api, USAGE, start_date="2026-06-10", end_date="2026-06-12",
                       **{"exclude_fields[]": ["remote_data", "usage.code"]})  # fmt: skip
    assert "remote_data" not in slim[0]
    assert "code" not in slim[0]["usage"]
    raw = await _walk(
        api, USAGE, start_date="2026-06-10", end_date="2026-06-12", response_format="raw"
    )
    assert raw[0]["daily_usage"] == row["remote_data"]["daily_usage"]
    assert "usage_events" in raw[0], "raw returns every source payload behind the row"
    grouped = await _walk(api, USAGE, start_date="2026-06-10", end_date="2026-06-11",
                          include_remote_data="true", **{"group_by[]": ["user", "model"]})  # fmt: skip
    assert all(r["remote_data"]["usage_events"] for r in grouped)
    missing = await api.get(f"{USAGE}/usg_nope", integrated_account_id=account)
    assert missing.status_code == 404


async def test_exclude_fields_reach_inside_the_vendor_payloads(api: ApiWorld) -> None:
    """``remote_data`` is the stored payload passed through unparsed; a path into it still
    removes just that field, and the raw format is the payload itself."""
    users = await _walk(api, USERS)
    assert "email" in users[0]["remote_data"]
    slim = await _walk(api, USERS, **{"exclude_fields[]": ["remote_data.email"]})
    assert [u["id"] for u in slim] == [u["id"] for u in users]
    for full, cut in zip(users, slim, strict=True):
        expected = {k: v for k, v in full["remote_data"].items() if k != "email"}
        assert cut["remote_data"] == expected
        assert {k: v for k, v in cut.items() if k != "remote_data"} == {
            k: v for k, v in full.items() if k != "remote_data"
        }
    raw = await _walk(api, USERS, response_format="raw")
    assert raw == [u["remote_data"] for u in users]
    window = {"start_date": "2026-06-10", "end_date": "2026-06-12"}
    rows = await _walk(api, USAGE, **window)
    daily = rows[0]["remote_data"]["daily_usage"]
    field = sorted(daily)[0]
    cut_rows = await _walk(
        api, USAGE, **window, **{"exclude_fields[]": [f"remote_data.daily_usage.{field}"]}
    )
    assert cut_rows[0]["remote_data"]["daily_usage"] == {
        k: v for k, v in daily.items() if k != field
    }
    assert cut_rows[0]["usage"] == rows[0]["usage"]


async def test_filters_by_user_email_and_model(api: ApiWorld) -> None:
    users = await _walk(api, USERS, status="active")
    someone = users[0]
    by_id = await _walk(api, USAGE, **{"user_ids[]": [someone["id"]]})
    by_email = await _walk(api, USAGE, **{"emails[]": [someone["emails"][0]["email"]]})
    assert by_id == by_email
    assert {r["user"]["id"] for r in by_id} <= {someone["id"]}
    gpt = await _walk(api, USAGE, **{"group_by[]": ["model"], "model_ids[]": ["gpt-5"]})
    assert gpt
    assert {r["model"]["id"] for r in gpt} == {"gpt-5"}
