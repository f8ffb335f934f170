"""Anomalies: an injected spike fires and is announced once; ordinary variation stays
within a false-positive budget; thresholds are per account."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support.api import KEYS, ApiWorld
from tests.support.databases import SQLiteDatabases
from tests.support.world import NOW_MS, make_sim, world
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_hook, drain, hook_world
from unimeter.analytics import agent_anomalies, anomalies, anomaly_details
from unimeter.analytics import anomalies_repository as repo
from unimeter.analytics.code_repository import Run
from unimeter.analytics.schemas import AnomalyDetails, AnomalyOut, AnomalyThresholds
from unimeter.api.pagination import ListResponse
from unimeter.db.models import UsageEvent
from unimeter.sync.service import sync_account

DAY_MS = 86_400_000
SPIKE_DAY_MS = NOW_MS - DAY_MS  # yesterday: a whole day, inside the scanned days


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _seated(sim: Any) -> list[str]:
    members = sim.truth(sim.keys[0]).members()
    return sorted(m.email for m in members if m.removed_ms is None)


def _heaviest(sim: Any) -> str:
    """The seated member with the most events: a spike of theirs clears the minimum amounts
    (a light user's tenfold day is, by design, too small to page anyone)."""
    seated = set(_seated(sim))
    counts = Counter(e.email for e in sim.truth(sim.keys[0]).events() if e.email in seated)
    return str(max(sorted(counts), key=lambda email: counts[email]))


async def listed(api: ApiWorld, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/analytics/anomalies", integrated_account_id=api.accounts["default"],
                             **params)  # fmt: skip
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["result"]
    return result


def test_the_robust_test_needs_amount_multiple_and_deviation() -> None:
    t = AnomalyThresholds()
    flat = [100] * 20 + [110] * 8  # median 100, MAD 0
    assert anomalies.spike(100 + 50, flat, t, min_amount=100) is None, "below the minimum amount"
    assert anomalies.spike(250, flat, t, min_amount=100) is None, "below 3x the median"
    found = anomalies.spike(400, flat, t, min_amount=100)
    assert found is not None and found["median"] == 100
    noisy = [0, 300] * 14  # median 150, MAD 150: 1 000 is only ~3.8 MADs away
    assert anomalies.spike(1_000, noisy, t, min_amount=100) is None, "within normal variation"
    assert anomalies.spike(2_000, noisy, t, min_amount=100) is not None


async def test_a_spike_fires_once_and_is_announced_once(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    sim = make_sim(api_keys=KEYS)
    victim = _heaviest(sim)
    sim.inject_spike(KEYS[0], victim, SPIKE_DAY_MS, factor=20)
    async with hook_world(database_url, data_dir, sim=sim) as (api, dispatcher):
        await create_hook(api, receiver.url + "/alerts", event_types=["usage:anomaly_detected"])
        account = api.accounts["default"]
        await sync_account(api.world.runtime, account)
        await drain(dispatcher)
        first = await listed(api)
        await sync_account(api.world.runtime, account)  # detection runs again: nothing new
        await drain(dispatcher)
        again = await listed(api)
        acked = await api.client.patch(f"/analytics/anomalies/{first[0]['id']}",
                                       json={"status": "acknowledged"}, headers=api.auth())  # fmt: skip
        open_only = await listed(api, status="open")
        other_env = await api.get(f"/analytics/anomalies/{first[0]['id']}", env="other")
        documented = (await api.client.get("/openapi.json")).json()["components"]["schemas"]
        async with api.world.runtime.db.reader() as session:
            owners = {
                fingerprint: (email, day)
                for fingerprint, email, day in (await session.execute(
                    select(UsageEvent.fingerprint, UsageEvent.email, UsageEvent.day)
                    .where(UsageEvent.account_id == account)
                )).all()
            }  # fmt: skip
    spikes = [a for a in first if a["kind"] == "cost_spike"]
    assert [(a["user_email"], a["day"]) for a in spikes] == [
        (victim, _day(SPIKE_DAY_MS).isoformat())
    ]
    assert {a["user_email"] for a in first} == {victim}, "only the spiking user is flagged"
    cost = spikes[0]["details"]
    # One unit (dollars) throughout: a spike this far out has a MAD far below its value.
    assert Decimal(cost["usual_cost"]) < Decimal(cost["cost"])
    assert Decimal(cost["cost"]) - Decimal(cost["usual_cost"]) == Decimal(cost["excess_cost"])
    assert Decimal(cost["cost_mad"]) * 8 < Decimal(cost["excess_cost"])
    assert cost["multiple"] >= 3 and cost["tokens"] is None
    typed = ListResponse[AnomalyOut].model_validate({"result": first, "next_cursor": None,
                                                    "prev_cursor": None, "result_count": 1})  # fmt: skip
    assert [a.model_dump(mode="json") for a in typed.result] == first, "exactly the schema"
    assert set(documented["AnomalyDetails"]["properties"]) == set(AnomalyDetails.model_fields)
    for a in first:
        assert a["event_ids"], "an anomaly links the events behind it"
        assert {owners[f] for f in a["event_ids"]} == {(victim, _day(SPIKE_DAY_MS))}
        assert a["links"]["usage"].startswith("/unified/usage-metering/usage?")
    assert [a["id"] for a in again] == [a["id"] for a in first], "detected once"
    deliveries = receiver.received("/alerts")
    announced = Counter(r.event["data"]["id"] for r in deliveries)
    assert announced == Counter({a["id"]: 1 for a in first}), "one webhook per anomaly"
    assert {r.type for r in deliveries} == {"usage:anomaly_detected"}
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert first[0]["id"] not in {a["id"] for a in open_only}
    assert other_env.status_code == 404


async def test_a_new_costly_model_fires_with_the_accounts_threshold(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(api_keys=KEYS)
    truth = sim.truth(KEYS[0])
    baseline_start = NOW_MS - 30 * DAY_MS
    used_opus = {
        e.email for e in truth.events(baseline_start) if e.payload["model"] == "claude-opus-4.6"
    }
    usage = Counter(e.email for e in truth.events(baseline_start) if e.email not in used_opus)
    victim = max((e for e in sorted(usage) if e in _seated(sim)), key=lambda e: usage[e])
    sim.inject_spike(KEYS[0], victim, SPIKE_DAY_MS, factor=2, model="claude-opus-4.6")
    async with hook_world(database_url, data_dir, sim=sim) as (api, _):
        account = api.accounts["default"]
        patched = await api.client.patch(
            "/analytics/settings", params={"integrated_account_id": account},
            json={"anomaly_thresholds": {"model_cost_multiple": 1.5, "model_min_cost": "1"}},
            headers=api.auth(),
        )  # fmt: skip
        assert patched.status_code == 200, patched.text
        assert patched.json()["anomaly_thresholds"]["min_cost"] == "25", "others keep defaults"
        await sync_account(api.world.runtime, account)
        found = await listed(api, kind="expensive_model")
    assert [(a["user_email"], a["model"]) for a in found] == [(victim, "claude-opus-4.6")]


async def test_ordinary_variation_stays_within_the_budget(sqlite_databases: SQLiteDatabases,
                                                          tmp_path: Path) -> None:  # fmt: skip
    """Every day of every user of four teams, judged with the default thresholds: at most
    one false alarm per 2,000 user-days."""
    judged = alarms = 0
    for seed in (11, 12, 13, 14):
        sim = make_sim(api_keys=KEYS[:1], seed=seed, users=30, days=60)
        async with world(sqlite_databases.create(), tmp_path / str(seed), sim=sim) as w:
            account = await w.link(tenant_id="t")
            await sync_account(w.runtime, account)
            async with w.runtime.db.reader() as session:
                first = await repo.first_days(session, account)
                last = await repo.latest_day(session, account)
                assert last is not None
                start = min(first.values())
                days = [start + dt.timedelta(days=n) for n in range((last - start).days + 1)]
                found = anomalies.find(
                    AnomalyThresholds(), days, await repo.user_days(session, account, start, last),
                    await repo.user_model_days(session, account, start, last), first,
                )  # fmt: skip
        judged += len(days) * len(first)
        alarms += len(found)
    assert judged > 4 * 30 * 40
    assert alarms <= judged / 2_000, (alarms, judged)


def _synthetic() -> list[anomalies.Finding]:
    """One user with 28 quiet days, then a day spiking on every signal and a new model."""
    day = dt.date(2026, 3, 1)
    base = [day - dt.timedelta(days=n) for n in range(1, 29)]
    usual = 1_000_000_000  # $10 a day in millionths of a cent
    users = [("a@x.test", d, usual + (n % 3) * 10_000_000, 1_000_000 + n, usual // 10)
             for n, d in enumerate(base)]  # fmt: skip
    users.append(("a@x.test", day, 40 * usual, 90_000_000, 30 * usual))
    models = [("a@x.test", d, "cheap", usual, 100) for d in base]
    models.append(("a@x.test", day, "opus", 9 * usual, 30))
    return anomalies.find(AnomalyThresholds(), [day], users, models, {"a@x.test": base[-1]})


def _agent_runs() -> list[Run]:
    """A person's ordinary runs, then a day of failures and one far costlier run."""
    day = dt.date(2026, 6, 1)
    runs = [
        Run("acc", f"r{n}", "a", "a@x.test", "finished", None, None, n,
            day - dt.timedelta(days=n), 60_000, 1000, 10**8)
        for n in range(20, 0, -1)
    ]  # fmt: skip
    runs += [Run("acc", f"e{n}", "a", "a@x.test", "error", None, None, 100 + n, day, None, None,
                 None) for n in range(5)]  # fmt: skip
    return [*runs, Run("acc", "big", "a", "a@x.test", "finished", None, None, 200, day, 1, 5000,
                       100 * 10**8)]  # fmt: skip


def test_details_have_one_type_per_field_whatever_the_kind() -> None:
    found = {f.kind: f.details for f in _synthetic()}
    assert sorted(found) == sorted(anomalies.USAGE_KINDS)
    t, runs = AnomalyThresholds(), _agent_runs()
    day = [runs[-1].day]
    found |= {f.kind: f.details for f in agent_anomalies.failures(t, day, runs)}
    found |= {f.kind: f.details for f in agent_anomalies.runaways(t, day, runs)}
    assert sorted(found) == sorted(anomalies.KINDS)
    fields = set(AnomalyDetails.model_fields)
    for kind, details in found.items():
        assert set(details) == fields, f"{kind}: every field, null when it does not apply"
        assert AnomalyDetails.model_validate(details).model_dump() == details
    for name in fields:
        kinds = {type(d[name]).__name__ for d in found.values() if d[name] is not None}
        assert len(kinds) <= 1, (name, kinds)
    cost = found["cost_spike"]
    assert (cost["cost"], cost["usual_cost"], cost["excess_cost"]) == ("400", "10.1", "389.9")
    assert cost["multiple"] == round(400 / 10.1, 2) and isinstance(cost["robust_z"], float)
    tokens = found["token_spike"]
    assert (tokens["tokens"], tokens["cost"], tokens["usual_cost"]) == (90_000_000, "400", "10.1")
    assert isinstance(tokens["usual_tokens"], int) and tokens["cost_mad"] is None
    model = found["expensive_model"]
    assert (model["events"], model["cost_per_event"], model["usual_cost_per_event"]) == (
        30,
        "3",
        "0.1",
    )
    assert (model["usual_cost"], model["excess_cost"], model["multiple"]) == ("3", "87", 30.0)
    assert found["headless_spike"]["metric"] == "headless_cost"


def test_details_stored_in_the_first_shape_read_as_today() -> None:
    old: dict[str, dict[str, Any]] = {
        "cost_spike": {"metric": "cost_spike", "value": "412.5", "median": "10.25",
                       "mad": "0.5", "robust_z": 67.3571725032237},
        "token_spike": {"metric": "token_spike", "value": 90_000_000, "median": 1_000_000,
                        "mad": 20_000, "robust_z": None},
        "expensive_model": {"metric": "cost_per_event", "model": "opus", "value": "90",
                            "cost_per_event": "3", "usual_cost_per_event": "0.1"},
    }  # fmt: skip
    read = {k: anomaly_details.stored(k, v).model_dump() for k, v in old.items()}
    assert read["cost_spike"]["excess_cost"] == "402.25"
    assert read["cost_spike"]["robust_z"] == 67.36 and read["cost_spike"]["multiple"] == 40.24
    assert read["token_spike"]["tokens"] == 90_000_000 and read["token_spike"]["multiple"] == 90
    assert read["token_spike"]["cost"] is None, "not recorded then: null, not a guess"
    assert read["expensive_model"]["multiple"] == 30 and read["expensive_model"]["cost"] == "90"
    assert anomaly_details.stored("cost_spike", {"value": "junk"}).cost is None
