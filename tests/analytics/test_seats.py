"""Seat utilization against an independent count from the simulator's ground truth."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.api import ApiWorld, api_world
from unimeter.connectors.cursor.simulator.truth import TeamTruth
from unimeter.sync.service import sync_account


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def expected_seats(truth: TeamTruth, as_of: dt.date, idle_days: int) -> dict[str, Any]:
    """Seats as docs/metrics.md defines them, computed from what Cursor serves."""
    seated = {m.numeric_id: m for m in truth.members() if m.removed_ms is None}
    by_email = {m.email: m.numeric_id for m in truth.members()}
    last: dict[int, dt.date] = {}

    def saw(member: int, day: dt.date) -> None:
        if day <= as_of and day > last.get(member, dt.date.min):
            last[member] = day

    for row in truth.daily_usage():
        if row["isActive"]:
            saw(row["userId"], dt.date.fromisoformat(row["day"]))
    for event in truth.events():
        saw(by_email[event.email], _day(event.timestamp_ms))

    def active(days: int) -> int:
        first = as_of - dt.timedelta(days=days - 1)
        return sum(1 for m in seated if last.get(m, dt.date.min) >= first)

    idle_before = as_of - dt.timedelta(days=idle_days - 1)
    return {
        "provisioned": len(seated),
        "active_7d": active(7),
        "active_30d": active(30),
        "utilization_30d": round(100 * active(30) / len(seated), 2),
        "idle": sorted(
            (seated[m].email, last[m].isoformat())
            for m in seated
            if m in last and last[m] < idle_before
        ),
        "never_used": sorted(seated[m].email for m in seated if m not in last),
    }


def actual(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "provisioned": body["provisioned"],
        "active_7d": body["active_7d"],
        "active_30d": body["active_30d"],
        "utilization_30d": body["utilization_30d"],
        "idle": sorted((s["email"], s["last_active"]) for s in body["idle"]),
        "never_used": sorted(s["email"] for s in body["never_used"]),
    }


async def seats(api: ApiWorld, **params: Any) -> dict[str, Any]:
    response = await api.get("/analytics/seats", **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_seats_match_the_ground_truth(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        truth = api.sim.truth(api.sim.keys[0])
        account = api.accounts["default"]
        today = _day(truth.now_ms)
        idle_seen = never_seen = 0
        for as_of, idle_days in [(today, 30), (today, 2), (today - dt.timedelta(days=10), 7)]:
            body = await seats(
                api, integrated_account_id=account, as_of=as_of.isoformat(), idle_days=idle_days
            )
            assert body["as_of"] == as_of.isoformat()
            assert body["scope"] == {"integrated_account_id": account}
            expected = expected_seats(truth, as_of, idle_days)
            assert actual(body) == expected
            idle_seen += len(expected["idle"])
            never_seen += len(expected["never_used"])
            for seat in body["idle"]:
                last = dt.date.fromisoformat(seat["last_active"])
                assert seat["days_idle"] == (as_of - last).days >= idle_days
        assert idle_seen and never_seen, "the cases exercise idle and never-used seats"
        default = await seats(api, integrated_account_id=account)
        assert default["as_of"] == today.isoformat()


async def test_seat_price_prices_reclaimable_seats(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        unpriced = await seats(api, integrated_account_id=account, idle_days=2)
        reclaim = len(unpriced["idle"]) + len(unpriced["never_used"])
        assert unpriced["reclaimable"] == {"seats": reclaim, "priced_seats": 0, "monthly": None}

        settings = await api.client.patch(
            "/analytics/settings",
            params={"integrated_account_id": account},
            json={"seat_price": "39.99"},
            headers=api.auth(),
        )
        assert settings.status_code == 200, settings.text
        assert settings.json()["seat_price"] == {"amount": "39.99", "currency": "USD"}
        shown = await api.get("/analytics/settings", integrated_account_id=account)
        assert shown.json() == settings.json()

        priced = await seats(api, integrated_account_id=account, idle_days=2)
        assert priced["reclaimable"] == {
            "seats": reclaim,
            "priced_seats": reclaim,
            "monthly": {"amount": str(Decimal("39.99") * reclaim), "currency": "USD"},
        }

        cleared = await api.client.patch(
            "/analytics/settings",
            params={"integrated_account_id": account},
            json={"seat_price": None},
            headers=api.auth(),
        )
        assert cleared.json()["seat_price"] is None


async def test_bad_settings_and_scopes_are_refused(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        for body in ({"seat_price": "abc"}, {"seat_price": "-1"}, {"seat_price": "0.000000001"}):
            bad = await api.client.patch(
                "/analytics/settings",
                params={"integrated_account_id": account},
                json=body,
                headers=api.auth(),
            )
            assert bad.status_code == 400, bad.text
            assert bad.json()["message"].startswith("seat_price: ")
        extra = await api.client.patch(
            "/analytics/settings",
            params={"integrated_account_id": account},
            json={"seat_price": "1", "currency": "EUR"},
            headers=api.auth(),
        )
        assert extra.status_code == 400, "unknown fields are refused"
        assert (await api.get("/analytics/settings", integrated_account_id=account)).json()[
            "seat_price"
        ] is None, "a refused update changes nothing"

        neither = await api.get("/analytics/seats")
        both = await api.get("/analytics/seats", integrated_account_id=account, tenant_id="t")
        for response in (neither, both):
            assert response.status_code == 400
            assert "exactly one" in response.json()["message"]
        elsewhere = api.accounts["other"]
        assert (
            await api.get("/analytics/seats", integrated_account_id=elsewhere)
        ).status_code == 404
        assert (await api.get("/analytics/seats", tenant_id="tenant-other")).status_code == 404


async def test_a_tenant_adds_up_its_accounts(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        second = await api.world.link(
            api.sim.keys[1], tenant_id="tenant-default", environment="default"
        )
        await sync_account(api.world.runtime, second)
        ids = (api.accounts["default"], second)
        parts = [await seats(api, integrated_account_id=i, idle_days=2) for i in ids]
        whole = await seats(api, tenant_id="tenant-default", idle_days=2)
    assert whole["scope"] == {"tenant_id": "tenant-default"}
    for field in ("provisioned", "active_7d", "active_30d"):
        assert whole[field] == sum(p[field] for p in parts) > 0
    for listing in ("idle", "never_used"):
        assert sorted(map(str, whole[listing])) == sorted(
            str(seat) for p in parts for seat in p[listing]
        )
    assert {s["integrated_account_id"] for s in whole["idle"]} <= set(ids)
