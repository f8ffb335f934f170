"""An account whose vendor reports only tokens and cost per person, model and day (no usage
records, no day totals, no activity counters) gets every analysis those facts can feed:
consumption, seats, anomalies, chargeback and FOCUS rows; adoption counts who was active and
says it lacks the rest; the audit says what it cannot check; what the vendor does not count
shows as unknown, never as 0. Beside a Cursor account in one tenant, neither changes the
other's answers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from tests.support.api import KEYS, ApiWorld, api_world
from tests.support.world import make_sim
from unimeter.analytics import anomalies
from unimeter.connectors.contract import Product
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.facts import FactProfile, UsageFactRecord
from unimeter.connectors.records import MemberRecord
from unimeter.connectors.source import StreamSpec
from unimeter.db.models import IntegratedAccount
from unimeter.sync.service import sync_account
from unimeter.sync.store import facts_repository, members_repository, rollups_repository

# The world's today (tests/support/world.py: 2026-06-15) and 27 days of usage before it.
TODAY = dt.date(2026, 6, 15)
DAYS = [TODAY - dt.timedelta(days=n) for n in range(27)]
MODEL = "big-model"
DOLLAR = 100 * 10**6  # cents * 10**6
SPIKE = 60 * DOLLAR  # ana's last day, against a dollar a day before it
MEMBERS = [
    MemberRecord("u-ana", "ana@example.com", "Ana", "member", False),
    MemberRecord("u-bo", "bo@example.com", "Bo", "member", False),
    MemberRecord("u-cy", "cy@example.com", "Cy", "member", False),  # never uses it
]


class PerDayVendor(CursorConnector):
    """A vendor that reports members and per-day facts only (its fetching is never used:
    the test writes its facts as a sync would)."""

    slug = "per-day"
    display_name = "Per Day AI"
    products: tuple[Product, ...] = (Product("per_day_code", "Per Day Code"),)
    streams: tuple[StreamSpec, ...] = (
        StreamSpec("members", windowed=False, required=True, provides="members"),
    )
    analyses = frozenset({"seats", "consumption", "anomalies", "chargeback", "focus", "audit"})
    facts = FactProfile(
        detail_metrics=frozenset({"input_tokens", "output_tokens", "cost_cents_e6"})
    )


def _fact(email: str, day: dt.date, cost: int) -> UsageFactRecord:
    return UsageFactRecord(
        day=day,
        product="per_day_code",
        user_email=email,
        model=MODEL,
        metrics={"input_tokens": 1000, "output_tokens": 200, "cost_cents_e6": cost},
    )


FACTS = [
    _fact(email, day, SPIKE if (email, day) == ("ana@example.com", TODAY) else DOLLAR)
    for email in ("ana@example.com", "bo@example.com")
    for day in DAYS
]
TOTAL_COST = sum(f.metrics["cost_cents_e6"] for f in FACTS)


async def _store_facts(api: ApiWorld) -> IntegratedAccount:
    """The default account made one of the per-day vendor, with members and facts written as
    a sync writes a vendor's reported facts."""
    runtime, account_id = api.world.runtime, api.accounts["default"]
    runtime.registry.register(PerDayVendor())
    async with runtime.db.session() as session:
        linked = await session.get(IntegratedAccount, account_id)
        assert linked is not None
        linked.integration = PerDayVendor.slug
        await members_repository.upsert_members(session, account_id, MEMBERS)
        await facts_repository.write_facts(session, account_id, FACTS)
        await rollups_repository.refresh(
            session, account_id, await rollups_repository.dirty_days(session, account_id)
        )
        account = await session.get(IntegratedAccount, account_id)
    assert account is not None
    return account


async def test_facts_without_events_feed_the_analyses(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = await _store_facts(api)
        scope = {"integrated_account_id": account.id}
        period = {"start_date": DAYS[-1].isoformat(), "end_date": "2026-06-16"}
        consumption = (await api.get("/analytics/consumption", **scope, **period,
                                     **{"group_by[]": "user"}, granularity="total")).json()  # fmt: skip
        seats = (await api.get("/analytics/seats", **scope, as_of=TODAY.isoformat())).json()
        found = await anomalies.detect(api.world.runtime, account)
        audit = (await api.get("/analytics/audit", **scope, as_of=TODAY.isoformat())).json()
        chargeback = (await api.get("/analytics/chargeback", **scope, **period,
                                    granularity="total")).json()  # fmt: skip
        focus = await api.get("/exports/focus", **scope, **period)
        adoption = (await api.get("/analytics/adoption", **scope)).json()

    by_user = {r["user_email"]: r for r in consumption["result"]}
    assert set(by_user) == {"ana@example.com", "bo@example.com"}
    assert by_user["bo@example.com"]["tokens"]["total"] == 27 * 1200
    assert by_user["bo@example.com"]["cost"]["charged"] == "27"
    # Requests are not counted by this vendor: unknown, not zero.
    assert by_user["ana@example.com"]["events"] is None
    assert consumption["totals"]["events"] is None
    assert Decimal(consumption["totals"]["cost"]["charged"]) * 100 * 10**6 == TOTAL_COST

    assert seats["provisioned"] == 3, seats
    assert seats["active_7d"] == 2 and seats["active_30d"] == 2
    assert [s["email"] for s in seats["never_used"]] == ["cy@example.com"]

    assert [(a.kind, a.user_email, a.day) for a in found] == [
        ("cost_spike", "ana@example.com", TODAY)
    ]
    assert found[0].event_ids == []  # no usage records behind it to point at

    assert chargeback["totals"]["users"] == 2
    assert chargeback["totals"]["cost"]["charged"] == consumption["totals"]["cost"]["charged"]
    assert chargeback["totals"]["events"] is None

    assert focus.status_code == 200, focus.text
    rows = list(csv.DictReader(io.StringIO(focus.text)))
    assert len(rows) == len(FACTS)
    assert sum(Decimal(r["EffectiveCost"]) for r in rows) * 100 * 10**6 == TOTAL_COST
    assert {r["x_Events"] for r in rows} == {""}, "requests unknown, not 0"
    assert {r["ConsumedQuantity"] for r in rows} == {"1200.0"}
    # Named by the vendor's connector: the provider, and the product as the service.
    assert {(r["ProviderName"], r["ServiceName"], r["SkuId"]) for r in rows} == {
        ("Per Day AI", "Per Day Code", MODEL)
    }

    assert audit["counts"]["usage_after_removal"] is None, "unknown, not 0"
    assert "usage_records_unavailable" in {n["code"] for n in audit["notes"]}

    everyone = adoption["all"]
    assert (everyone["members"], everyone["mau"]) == (3, 2)
    assert everyone["edit_acceptance"] is None
    assert set(everyone["feature_shares"].values()) == {None}
    codes = {(n["code"], n["integrated_account_id"]) for n in adoption["notes"]}
    assert ("adoption_metrics_unreported", account.id) in codes


async def test_beside_a_cursor_account_each_keeps_its_answers(
    database_url: str, data_dir: Path
) -> None:
    third = "crsr_" + "3" * 64
    sim = make_sim(api_keys=(*KEYS, third), users=8, days=20)
    async with api_world(database_url, data_dir, sim=sim, synced=False) as api:
        account = await _store_facts(api)
        cursor_id = await api.world.link(third, tenant_id="tenant-default", environment="default")
        await sync_account(api.world.runtime, cursor_id)
        tenant = {"tenant_id": "tenant-default"}
        adoption = (await api.get("/analytics/adoption", **tenant)).json()
        alone = (await api.get("/analytics/adoption", integrated_account_id=cursor_id)).json()
        usage = (await api.get("/analytics/consumption", **tenant, **{"group_by[]": "user"},
                               granularity="total")).json()  # fmt: skip

    # Only Cursor's facts report completions and features: the tenant's card keeps its keys,
    # and its figures are Cursor's (the per-day vendor's people add activity, not ratios).
    assert set(adoption["all"]) == set(alone["all"])
    assert "tab_acceptance" in adoption["all"]
    assert adoption["all"]["tab_acceptance"] == alone["all"]["tab_acceptance"]
    assert adoption["all"]["feature_shares"] == alone["all"]["feature_shares"]
    assert {n["integrated_account_id"] for n in adoption["notes"]
            if n["code"] == "adoption_metrics_unreported"} == {account.id}  # fmt: skip
    events = {r["integrated_account_id"]: r["events"] for r in usage["result"]}
    assert events[account.id] is None
    assert isinstance(events[cursor_id], int) and events[cursor_id] > 0
    assert usage["totals"]["events"] == sum(
        r["events"] for r in usage["result"] if r["events"] is not None
    )
