"""An account whose vendor reports only tokens and cost per person, model and day (no usage
events, no day totals, no activity counters) gets every analysis those facts can feed:
consumption, seats, anomalies, chargeback and FOCUS rows; adoption counts who was active and
says it lacks the rest; what the vendor does not count shows as unknown, never as 0."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from tests.support.api import ApiWorld, api_world
from unimeter.analytics import anomalies
from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import MemberRecord
from unimeter.db.models import IntegratedAccount
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


def _fact(email: str, day: dt.date, cost: int) -> UsageFactRecord:
    return UsageFactRecord(
        day=day,
        product="cursor",
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
    """Members and facts written as a sync writes a vendor's reported facts."""
    runtime, account_id = api.world.runtime, api.accounts["default"]
    async with runtime.db.session() as session:
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
    assert {(r["ProviderName"], r["ServiceName"], r["SkuId"]) for r in rows} == {
        ("Cursor", "Cursor", MODEL)
    }

    everyone = adoption["all"]
    assert (everyone["members"], everyone["mau"]) == (3, 2)
    assert everyone["edit_acceptance"] is None
    assert set(everyone["feature_shares"].values()) == {None}
    codes = {(n["code"], n["integrated_account_id"]) for n in adoption["notes"]}
    assert ("adoption_metrics_unreported", account.id) in codes
