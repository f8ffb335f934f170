"""The unified API over a vendor's fact profile: a vendor with two products and no events
gets records per (user, product, day), shows only the groups it reports, and pages and
fetches them by id like any other."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support.report_only import ReportConnector
from tests.support.world import world
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import create_app
from unimeter.auth.service import create_token
from unimeter.connectors.contract import Product
from unimeter.connectors.facts import FactProfile, UsageFactRecord
from unimeter.sync.service import sync_account

USAGE = "/unified/usage-metering/usage"
PRODUCTS = (Product("assist", "Reports Assistant"), Product("api", "Reports API"))
PROFILE = FactProfile(detail_metrics=frozenset({"input_tokens", "output_tokens", "cost_cents_e6"}))
DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=n) for n in range(3)]


def _facts() -> list[UsageFactRecord]:
    return [
        UsageFactRecord(
            day=day, product=product.id, user_email=email, actor="" if email else "svc-1",
            model=model, metrics={
                "input_tokens": 1000 * (n + 1) + len(model), "output_tokens": 10 * (n + 1),
                "cost_cents_e6": 250_000 * (n + 1),
            },
        )
        for n, day in enumerate(DAYS)
        for product in PRODUCTS
        for email in ("a@x.io", "b@x.io", "")
        for model in ("small", "large")
    ]  # fmt: skip


class Api:
    def __init__(self, client: httpx.AsyncClient, token: str, account_id: str) -> None:
        self.client, self.token, self.account_id = client, token, account_id

    async def get(self, path: str, **params: Any) -> httpx.Response:
        params = {"integrated_account_id": self.account_id, **params}
        return await self.client.get(
            path, params=params, headers={"Authorization": f"Bearer {self.token}"}
        )

    async def walk(self, **params: Any) -> list[dict[str, Any]]:
        rows, cursor = [], None
        while True:
            extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
            page = await self.get(USAGE, start_date="2026-06-01", end_date="2026-06-04",
                                  **params, **extra)  # fmt: skip
            assert page.status_code == 200, page.text
            rows += page.json()["result"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                return rows


@asynccontextmanager
async def _api(database_url: str, data_dir: Path) -> AsyncIterator[Api]:
    async with world(database_url, data_dir, account_rate_limit="off", token_rate_limit="off") as w:
        w.runtime.registry.register(ReportConnector(_facts(), products=PRODUCTS, facts=PROFILE))
        account = await link_account(
            w.runtime, LinkRequest(integration="reports", credentials="token-1", tenant_id="r")
        )
        assert (await sync_account(w.runtime, account.id)).status == "succeeded"
        app = create_app(w.runtime)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client:
                yield Api(client, (await create_token(w.runtime, "default"))[1], account.id)
        finally:
            await app.state.sync_dispatch.close()


def _cost(record: dict[str, Any]) -> Decimal:
    return sum((Decimal(c["amount"]) for c in record["charges"]), Decimal(0))


async def test_records_split_by_product_and_show_only_what_the_vendor_reports(
    database_url: str, data_dir: Path
) -> None:
    facts = _facts()
    async with _api(database_url, data_dir) as api:
        rows = await api.walk()
        expected: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for f in facts:
            sums = expected[(f.day.isoformat(), f.user_email, f.product)]
            sums[0] += f.metrics["input_tokens"]
            sums[1] += f.metrics["output_tokens"]
            sums[2] += f.metrics["cost_cents_e6"]
        got = {
            (r["start_date"][:10], r["user"]["email"] if r["user"] else "", r["product"]["id"]):
            [r["usage"]["tokens"]["input"], r["usage"]["tokens"]["output"],
             int(_cost(r) * 100 * 10**6)]
            for r in rows
        }  # fmt: skip
        assert got == expected
        assert len(rows) == len(expected)  # one record per (day, user, product)
        names = {r["product"]["id"]: r["product"]["name"] for r in rows}
        assert names == {"assist": "Reports Assistant", "api": "Reports API"}
        for r in rows:
            # No requests, code or work reported: those groups are absent, not zeros.
            assert set(r["usage"]) == {"tokens", "activity"}
            assert r["usage"]["activity"] == {"is_active": True, "client_version": None}
            assert [c["type"] for c in r["charges"]] == ["total"]
        assert len({r["id"] for r in rows}) == len(rows)

        by_model = await api.walk(**{"group_by[]": ["model"]})
        assert {(r["model"]["id"], r["product"]["id"]) for r in by_model} == {
            (m, p.id) for m in ("small", "large") for p in PRODUCTS
        } and len(by_model) == 2 * 2 * len(DAYS)
        assert all(set(r["usage"]) == {"tokens"} for r in by_model)


async def test_pages_and_ids_carry_the_product(database_url: str, data_dir: Path) -> None:
    async with _api(database_url, data_dir) as api:
        everything = await api.walk()
        # One record a page: a cursor inside a (day, user) must not skip its other product.
        one_by_one = await api.walk(limit=1)
        assert one_by_one == everything
        for record in everything[:4]:
            got = await api.get(f"{USAGE}/{record['id']}")
            assert got.status_code == 200, got.text
            assert got.json() == record
        monthly = await api.walk(granularity="month", **{"group_by[]": ["user"]})
        assert len(monthly) == 3 * len(PRODUCTS)
        for record in monthly[:2]:
            assert (await api.get(f"{USAGE}/{record['id']}")).json() == record
