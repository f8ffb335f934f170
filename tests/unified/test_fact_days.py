"""Usage at the default (user, day) grain is read from the rollups (for a single-product
vendor each record is one user-day row; otherwise the fact-day rows are summed); it answers
exactly as summing the facts does, on both backends, and follows the facts a later sync
changes (day totals included). While a day waits for its rollups, the facts answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from tests.support.api import api_world
from tests.support.report_only import ReportConnector
from tests.support.world import world
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import create_app
from unimeter.auth.service import create_token
from unimeter.connectors.contract import Product
from unimeter.connectors.facts import FactProfile, UsageFactRecord
from unimeter.db.models import UsageFact, usage_user_days
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.sync.store import rollups_repository
from unimeter.tenancy import repository as tenancy

USAGE = "/unified/usage-metering/usage"
Get = Any  # an async (path, **params) -> httpx.Response


async def _walk(get: Get, account: str, params: dict[str, Any], limit: int) -> list[Any]:
    rows, cursor = [], None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        page = await get(USAGE, integrated_account_id=account, limit=limit, **params, **extra)
        assert page.status_code == 200, page.text
        rows += page.json()["result"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return rows


async def _fact_days(runtime: Runtime, account: str) -> list[dt.date]:
    async with runtime.db.reader() as session:
        rows = await session.execute(
            select(UsageFact.day).where(UsageFact.account_id == account).distinct()
        )
        return [day for (day,) in rows.all()]


@asynccontextmanager
async def _waiting_for_rollups(runtime: Runtime, account: str) -> AsyncIterator[None]:
    """Every day of the account marked as waiting for its rollups, as during a sync (whose
    writes also move the account's data version, which cached answers are keyed on)."""
    days = await _fact_days(runtime, account)
    async with runtime.db.session() as session:
        await rollups_repository.mark_dirty(session, account, days)
        await tenancy.bump_data_version(session, account)
    try:
        yield
    finally:
        async with runtime.db.session() as session:
            await rollups_repository.clear_dirty(session, account, days)
            await tenancy.bump_data_version(session, account)


async def _both_ways(
    get: Get, runtime: Runtime, account: str, queries: list[dict[str, Any]], limit: int
) -> tuple[list[list[Any]], list[list[Any]]]:
    rolled = [await _walk(get, account, q, limit) for q in queries]
    async with _waiting_for_rollups(runtime, account):
        from_facts = [await _walk(get, account, q, limit) for q in queries]
    return rolled, from_facts


@asynccontextmanager
async def _uncached_client(runtime: Runtime, environment: str = "default") -> AsyncIterator[Get]:
    """Reads through an app without the response cache: the same URL is read before and
    after the store changes under it, faster than the cache re-reads the data version."""
    app = create_app(runtime, cache_responses=False)
    token = (await create_token(runtime, environment))[1]
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def get(path: str, **params: Any) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}"}
                return await client.get(path, params=params, headers=headers)

            yield get
    finally:
        await app.state.sync_dispatch.close()


async def test_the_rollups_answer_as_the_facts_do(database_url: str, data_dir: Path) -> None:
    async with (
        api_world(database_url, data_dir) as api,
        _uncached_client(api.world.runtime) as get,
    ):
        account, runtime = api.accounts["default"], api.world.runtime
        whole: dict[str, Any] = {"start_date": "2026-05-12", "end_date": "2026-06-16"}
        everyone = await _walk(get, account, whole, 500)
        users = sorted({r["user"]["email"] for r in everyone if r["user"]})
        queries: list[dict[str, Any]] = [
            whole,
            {**whole, "include_inactive": "true"},
            {"start_date": "2026-06-01", "end_date": "2026-06-16", "emails[]": users[:3]},
        ]
        for limit in (500, 7):  # one page, and cursors inside days
            rolled, from_facts = await _both_ways(get, runtime, account, queries, limit)
            assert all(rolled), "every query has records"
            assert rolled == from_facts

        # The pages do read the user-day rollups (one product): without them, no records.
        async with runtime.db.session() as session:
            await session.execute(
                delete(usage_user_days).where(usage_user_days.c.account_id == account)
            )
            await tenancy.bump_data_version(session, account)
        assert await _walk(get, account, whole, 500) == []
        async with _waiting_for_rollups(runtime, account):
            assert await _walk(get, account, whole, 500) == rolled[0]


# A vendor with two products, detail facts per model and day totals per (user, day).
PRODUCTS = (Product("assist", "Reports Assistant"), Product("api", "Reports API"))
PROFILE = FactProfile(
    detail_metrics=frozenset({"input_tokens", "cost_cents_e6"}),
    day_total_metrics=frozenset({"requests"}),
)
DAYS = [dt.date(2026, 6, 1) + dt.timedelta(days=n) for n in range(3)]


def _facts(products: tuple[Product, ...]) -> list[UsageFactRecord]:
    detail = [
        UsageFactRecord(
            day=day, product=product.id, user_email=email, model=model,
            metrics={"input_tokens": 100 * (n + 1) + len(model), "cost_cents_e6": 5_000 * n},
        )
        for n, day in enumerate(DAYS)
        for product in products
        for email in ("a@x.io", "b@x.io")
        for model in ("small", "large")
    ]  # fmt: skip
    totals = [
        UsageFactRecord(
            day=day, product=product.id, user_email=email, is_day_total=True,
            metrics={"requests": 3 + n}, is_active=email == "a@x.io", client_version="1.2",
        )
        for n, day in enumerate(DAYS)
        for product in products
        for email in ("a@x.io", "c@x.io")  # c@: active by its requests only
    ]  # fmt: skip
    return detail + totals


@pytest.mark.parametrize("products", [PRODUCTS, PRODUCTS[1:]], ids=["two products", "one"])
async def test_a_later_sync_keeps_them_equal_to_the_facts(
    database_url: str, data_dir: Path, products: tuple[Product, ...]
) -> None:
    facts = _facts(products)
    async with world(database_url, data_dir, account_rate_limit="off", token_rate_limit="off") as w:
        w.runtime.registry.register(ReportConnector(facts, products=products, facts=PROFILE))
        link = LinkRequest(integration="reports", credentials="token-1", tenant_id="r")
        account = (await link_account(w.runtime, link)).id
        assert (await sync_account(w.runtime, account)).status == "succeeded"
        async with _uncached_client(w.runtime) as get:
            queries = [
                    {"start_date": "2026-06-01", "end_date": "2026-06-04"},
                    {"start_date": "2026-06-01", "end_date": "2026-06-04",
                     "include_inactive": "true"},
                ]  # fmt: skip
            rolled, from_facts = await _both_ways(get, w.runtime, account, queries, 1)
            assert rolled == from_facts
            assert {r["user"]["email"] for r in rolled[0]} == {"a@x.io", "b@x.io", "c@x.io"}

            # A day total changes and a member appears: only the sync tells the rollups.
            day_total = next(f for f in facts if f.is_day_total and f.day == DAYS[1])
            day_total.metrics["requests"] = 40
            facts.append(UsageFactRecord(
                    day=DAYS[2], product="api", user_email="d@x.io", model="small",
                    metrics={"input_tokens": 7, "cost_cents_e6": 1},
                ))  # fmt: skip
            report = await sync_account(w.runtime, account, SyncOptions(full=True))
            assert report.status == "succeeded"
            rolled, from_facts = await _both_ways(get, w.runtime, account, queries, 2)
            assert rolled == from_facts
            changed = [
                    r for r in rolled[0]
                    if r["start_date"].startswith(DAYS[1].isoformat())
                    and r["user"]["email"] == day_total.user_email
                    and r["product"]["id"] == day_total.product
                ]  # fmt: skip
            assert [r["usage"]["requests"]["total"] for r in changed] == [40]
            assert "d@x.io" in {r["user"]["email"] for r in rolled[0]}
