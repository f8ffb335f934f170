"""A Toy AI account beside a Cursor account in one environment, end to end.

The toy vendor is registered into the runtime's registry and nowhere else; its simulator
runs over real HTTP. Linking (API and Connect page), the sync, the unified API, the
analytics, the exports and the dashboard must all serve it, each answer the toy's own
ground truth, while the Cursor account beside it keeps answering Cursor's.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.support.live import serve
from tests.support.world import World, make_sim, world
from tests.toyvendor.connector import ToyConnector
from tests.toyvendor.simulator import SimulatedToy, ToyConfig
from tests.toyvendor.simulator import create_app as create_toy_app
from tests.toyvendor.truth import ToyTruth
from unimeter.app import create_app
from unimeter.auth.service import create_token
from unimeter.sync.service import sync_account

USERS = "/unified/usage-metering/users"
USAGE = "/unified/usage-metering/usage"
TOY_PRODUCT = {"id": "toy_assistant", "name": "Toy Assistant"}
CENTS_E6 = Decimal(100 * 10**6)  # per dollar
# The toy's history (40 days to 2026-06-15) and the Cursor world's share "today".
PERIOD = {"start_date": "2026-05-01", "end_date": "2026-06-16"}


@dataclass
class SideBySide:
    world: World
    toy: SimulatedToy
    toy_url: str
    client: httpx.AsyncClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth)

    async def json(self, path: str, **params: Any) -> Any:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()

    async def link(self, integration: str, credentials: dict[str, str], base_url: str) -> Any:
        body = {"integration": integration, "credentials": credentials, "tenant_id": "acme",
                "base_url": base_url}  # fmt: skip
        return await self.client.post("/integrated-accounts", json=body, headers=self.auth)


@asynccontextmanager
async def side_by_side(database_url: str, data_dir: Path) -> AsyncIterator[SideBySide]:
    toy = SimulatedToy(ToyConfig(seed=4, users=8, days=40))
    with serve(create_toy_app(toy)) as toy_url:
        settings: dict[str, Any] = {"allow_private_urls": True, "account_rate_limit": "off",
                                    "token_rate_limit": "off"}  # fmt: skip
        sim = make_sim(users=6, days=20)
        async with world(database_url, data_dir, sim=sim, transport="http", **settings) as w:
            # The one registration a vendor needs; nothing else in the product changes.
            w.runtime.registry.register(ToyConnector())
            app = create_app(w.runtime)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://unimeter.test") as c:
                token = (await create_token(w.runtime, "default"))[1]
                try:
                    yield SideBySide(w, toy, toy_url, c, token)
                finally:
                    await app.state.sync_dispatch.close()


async def _walk(s: SideBySide, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await s.json(
            path, limit=500, **params, **({"next_cursor": cursor} if cursor else {})
        )
        rows += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def _fresh(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their refresh times (a live read is fresher by definition)."""
    return [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in rows]


async def _linked_and_synced(s: SideBySide) -> tuple[str, str]:
    """Both accounts linked through the API and synced; returns (toy, cursor) ids."""
    toy = await s.link("toy", s.toy.credentials(), s.toy_url)
    assert toy.status_code == 201, toy.text
    cursor = await s.link("cursor", {"api_key": s.world.sim.keys[0]}, s.world.base_url)
    assert cursor.status_code == 201, cursor.text
    ids = toy.json()["id"], cursor.json()["id"]
    for account_id in ids:
        report = await sync_account(s.world.runtime, account_id)
        assert report.status == "succeeded", report.error
    return ids


async def test_linking_through_the_api_tells_the_toy_vendors_refusals_apart(
    database_url: str, data_dir: Path
) -> None:
    async with side_by_side(database_url, data_dir) as s:
        integrations = {i["slug"]: i for i in await s.json("/integrations")}
        assert set(integrations) == {"cursor", "anthropic", "toy"}
        fields = [(f["name"], f["secret"]) for f in integrations["toy"]["credential_fields"]]
        assert fields == [("api_key", True), ("organization_id", False)]
        assert integrations["toy"]["products"] == [TOY_PRODUCT]

        not_admin = await s.link("toy", s.toy.credentials(s.toy.member_key), s.toy_url)
        assert not_admin.status_code == 422
        assert "not an admin key" in not_admin.text
        assert s.toy.member_key not in not_admin.text
        wrong_org = {**s.toy.credentials(), "organization_id": "org_nope"}
        refused = await s.link("toy", wrong_org, s.toy_url)
        assert refused.status_code == 422 and "(401)" in refused.text
        missing = await s.link("toy", {"api_key": s.toy.admin_key}, s.toy_url)
        assert missing.status_code == 400 and "organization_id" in missing.text
        assert (await s.json("/integrated-accounts"))["result"] == []


async def test_a_toy_account_flows_through_every_reader_beside_a_cursor_account(
    database_url: str, data_dir: Path
) -> None:
    async with side_by_side(database_url, data_dir) as s:
        toy_id, cursor_id = await _linked_and_synced(s)
        truth = ToyTruth(s.toy)
        facts = truth.facts()
        people = [f for f in facts if f.user_email]
        total_cost = sum(f.cost_cents_e6 for f in facts)
        people_cost = sum(f.cost_cents_e6 for f in people)
        people_tokens = sum(
            (f.input_tokens or 0) + (f.output_tokens or 0) + (f.cache_read_tokens or 0)
            + (f.cache_write_tokens or 0) for f in people
        )  # fmt: skip

        accounts = {a["id"]: a for a in (await s.json("/integrated-accounts"))["result"]}
        assert {a["integration"] for a in accounts.values()} == {"toy", "cursor"}
        assert accounts[toy_id]["status"] == "active"

        # Unified users: the toy's members, with its roles.
        users = await _walk(s, USERS, integrated_account_id=toy_id)
        expected = {m.remote_id: m for m in truth.members()}
        assert {u["id"] for u in users} == set(expected)
        for u in users:
            m = expected[u["id"]]
            assert u["emails"] == [{"email": m.email, "is_primary": True}]
            assert u["roles"][0]["id"] == m.role
            assert u["status"] == ("deleted" if m.is_removed else "active")

        # Analytics: consumption and seats from the toy's facts alone.
        consumption = await s.json("/analytics/consumption", integrated_account_id=toy_id,
                                   granularity="total", **{"group_by[]": "user"}, **PERIOD)  # fmt: skip
        by_user = {r["user_email"]: r for r in consumption["result"]}
        # The API key's usage belongs to no person: it is the unattributed row ("").
        assert set(by_user) == {f.user_email for f in people} | {""}
        got_cost = sum(Decimal(r["cost"]["charged"]) for r in consumption["result"])
        assert got_cost * CENTS_E6 == total_cost
        assert Decimal(by_user[""]["cost"]["charged"]) * CENTS_E6 == total_cost - people_cost
        person_tokens = sum(r["tokens"]["total"] for e, r in by_user.items() if e)
        assert person_tokens == people_tokens
        seats = await s.json("/analytics/seats", integrated_account_id=toy_id, as_of="2026-06-15")
        assert seats["provisioned"] == sum(not m.is_removed for m in truth.members())
        # What Toy AI does not report is unknown, and the answer says so.
        adoption = await s.json("/analytics/adoption", integrated_account_id=toy_id)
        assert adoption["all"]["edit_acceptance"] is None
        assert set(adoption["all"]["feature_shares"].values()) == {None}
        assert "adoption_metrics_unreported" in {n["code"] for n in adoption["notes"]}
        audit = await s.json("/analytics/audit", integrated_account_id=toy_id)
        assert audit["counts"]["usage_after_removal"] is None
        assert "usage_records_unavailable" in {n["code"] for n in audit["notes"]}

        # Both vendors in one answer: the tenant's consumption adds the two accounts.
        cursor_only = await s.json("/analytics/consumption", integrated_account_id=cursor_id,
                                   granularity="total", **PERIOD)  # fmt: skip
        toy_only = await s.json("/analytics/consumption", integrated_account_id=toy_id,
                                granularity="total", **PERIOD)  # fmt: skip
        both = await s.json("/analytics/consumption", tenant_id="acme", granularity="total",
                            **PERIOD)  # fmt: skip
        assert Decimal(cursor_only["totals"]["cost"]["charged"]) > 0
        assert Decimal(both["totals"]["cost"]["charged"]) == Decimal(
            cursor_only["totals"]["cost"]["charged"]
        ) + Decimal(toy_only["totals"]["cost"]["charged"])

        # Exports: FOCUS rows priced from the toy's dollars, named after it.
        focus = await s.get("/exports/focus", integrated_account_id=toy_id, **PERIOD)
        assert focus.status_code == 200, focus.text
        rows = list(csv.DictReader(io.StringIO(focus.text)))
        assert {r["ProviderName"] for r in rows} == {"Toy AI"}
        assert sum(Decimal(r["EffectiveCost"]) for r in rows) * CENTS_E6 == total_cost
        exported = await s.get("/exports/consumption", integrated_account_id=toy_id, **PERIOD)
        assert exported.status_code == 200, exported.text
        assert {f.user_email for f in people} <= set(re.findall(r"person\d+@toy-org\.example",
                                                                 exported.text))  # fmt: skip
        table = list(csv.DictReader(io.StringIO(exported.text)))
        # One total charge, no split inside and beyond a plan: those columns are empty.
        assert {(r["included"], r["usage_based"]) for r in table} == {("", "")}
        assert sum(Decimal(r["charged"]) for r in table) * CENTS_E6 == total_cost


async def test_the_unified_usage_of_a_toy_account_shows_what_it_reports_and_hides_the_rest(
    database_url: str, data_dir: Path
) -> None:
    async with side_by_side(database_url, data_dir) as s:
        toy_id, cursor_id = await _linked_and_synced(s)
        facts = ToyTruth(s.toy).facts()
        rows = await _walk(s, USAGE, integrated_account_id=toy_id, granularity="month",
                           **{"group_by[]": ["user", "model"]}, **PERIOD)  # fmt: skip
        assert rows
        assert {r["product"]["id"] for r in rows} == {TOY_PRODUCT["id"]}
        input_tokens = sum(r["usage"]["tokens"]["input"] for r in rows)
        assert input_tokens == sum(f.input_tokens or 0 for f in facts)
        charged = sum(Decimal(next(c["amount"] for c in r["charges"] if c["type"] == "total"))
                      for r in rows)  # fmt: skip
        assert charged * CENTS_E6 == sum(f.cost_cents_e6 for f in facts)
        assert sum(r["usage"]["requests"]["total"] for r in rows) == sum(f.requests for f in facts)
        # What Toy AI does not report is absent, not zeros: no code group, no request split,
        # one charge type.
        assert all("code" not in r["usage"] for r in rows)
        assert {tuple(r["usage"]["requests"]) for r in rows} == {("total",)}
        assert {tuple(c["type"] for c in r["charges"]) for r in rows} == {("total",)}
        assert {r["model"]["provider"] for r in rows if r["model"]} == {"toy"}
        # A live read goes to Toy AI through the same connector and answers the same rows.
        week = {"start_date": "2026-06-08", "end_date": "2026-06-15"}
        stored = await _walk(s, USAGE, integrated_account_id=toy_id, **week)
        live = await _walk(s, USAGE, integrated_account_id=toy_id, mode="live", **week)
        assert stored and _fresh(live) == _fresh(stored)
        cursor_rows = await _walk(s, USAGE, integrated_account_id=cursor_id, **PERIOD)
        assert {r["product"]["id"] for r in cursor_rows} == {"cursor"}


async def test_charge_types_the_toy_vendor_does_not_report_are_unknown(
    database_url: str, data_dir: Path
) -> None:
    async with side_by_side(database_url, data_dir) as s:
        toy_id, _ = await _linked_and_synced(s)
        consumption = await s.json("/analytics/consumption", integrated_account_id=toy_id,
                                   granularity="total", **PERIOD)  # fmt: skip
        # Toy AI charges one total; what is inside or beyond a plan it does not say.
        assert consumption["totals"]["cost"]["included"] is None
        assert consumption["totals"]["cost"]["usage_based"] is None


async def test_the_connect_page_and_the_dashboard_serve_a_toy_account(
    database_url: str, data_dir: Path
) -> None:
    async with side_by_side(database_url, data_dir) as s:
        body = {"integration": "toy", "tenant_id": "acme-2", "base_url": s.toy_url}
        link = await s.client.post("/link-tokens", json=body, headers=s.auth)
        assert link.status_code == 201, link.text
        page = str(urlsplit(link.json()["url"]).path)
        form = await s.client.get(page)
        assert form.status_code == 200
        assert "Toy AI" in form.text and "Organization ID" in form.text
        assert re.search(r'<input[^>]*name="api_key"[^>]*type="password"|<input[^>]*type='
                         r'"password"[^>]*name="api_key"', form.text)  # fmt: skip
        assert 'name="organization_id"' in form.text

        refused = await s.client.post(page, data=s.toy.credentials(s.toy.member_key))
        assert refused.status_code in (400, 401, 403, 422), refused.status_code
        assert s.toy.member_key not in refused.text
        done = await s.client.post(page, data=s.toy.credentials())
        assert done.status_code in (200, 303), done.text
        linked = (await s.json("/integrated-accounts"))["result"]
        assert [(a["integration"], a["tenant_id"]) for a in linked] == [("toy", "acme-2")]
        toy_id = linked[0]["id"]
        assert (await sync_account(s.world.runtime, toy_id)).status == "succeeded"

        signed_in = await s.client.post("/app/login", data={"token": s.token})
        assert signed_in.status_code == 303
        for path in ("/app", "/app/accounts", "/app/seats", "/app/consumption", "/app/audit"):
            shown = await s.client.get(path, params={"account": toy_id})
            assert shown.status_code == 200, (path, shown.status_code)
        accounts = (await s.client.get("/app/accounts")).text
        assert toy_id in accounts and 'data-integration="toy"' in accounts
        consumption = (await s.client.get("/app/consumption", params={"account": toy_id})).text
        assert "person0" in consumption
