"""Chargeback by team and cost center, from billing groups and from an uploaded directory,
against sums computed here from the simulator's events and membership history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from tests.support.api import ApiWorld, api_world
from unimeter.connectors.cursor.simulator import Quirks
from unimeter.connectors.cursor.simulator.truth import TeamTruth, TruthEvent
from unimeter.db.models import UsageEvent
from unimeter.sync.store import rollups_repository as rollups

START, END = "2020-01-01", "2030-01-01"


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _charged(event: TruthEvent) -> Decimal:
    return Decimal(str(event.payload.get("chargedCents", 0))) / 100


# Every event names its user (removed members' emails are not blanked), so each event's
# owner, and so its team, is known exactly.
QUIET = {"quirks": Quirks(removed_user_email=False)}


Intervals = dict[str, list[tuple[dt.date, dt.date | None, int, str | None]]]


def pick(intervals: Intervals, email: str, day: dt.date) -> str | None:
    """The latest-starting interval covering the day (docs/metrics.md)."""
    covering = [
        (start_key, name)
        for first, last, start_key, name in intervals.get(email, [])
        if first <= day and (last is None or day <= last)
    ]
    return max(covering)[1] if covering else None


def expected_charges(
    events: list[TruthEvent], owner: Callable[[TruthEvent], str | None]
) -> tuple[dict[tuple[str, str | None], Decimal], Decimal]:
    by_month: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for e in events:
        by_month[(_day(e.timestamp_ms).replace(day=1).isoformat(), owner(e))] += _charged(e)
    return dict(by_month), sum((_charged(e) for e in events), Decimal(0))


async def chargeback(api: ApiWorld, **params: Any) -> dict[str, Any]:
    response = await api.get("/analytics/chargeback", integrated_account_id=api.accounts["default"],
                             start_date=START, end_date=END, **params)  # fmt: skip
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def measured(body: dict[str, Any], by: str) -> dict[tuple[str, str | None], Decimal]:
    rows = body["result"]
    for r in rows:
        assert r["unallocated"] == (r[by] is None)
    out = {(r["period_start"], r[by]): Decimal(r["cost"]["charged"]) for r in rows}
    assert len(out) == len(rows), "one row per period and bucket"
    return out


def assert_adds_up(body: dict[str, Any], total: Decimal) -> None:
    """Buckets, the unallocated one included, add up to the account total to the cent."""
    rows = sum((Decimal(r["cost"]["charged"]) for r in body["result"]), Decimal(0))
    assert rows == Decimal(body["totals"]["cost"]["charged"]) == total


def group_intervals(truth: TeamTruth) -> Intervals:
    names = {g["id"]: g["name"] for g in truth.groups()["groups"]}
    floor = truth.history_start_ms
    out: Intervals = defaultdict(list)
    for m in truth.members():
        for group, joined, left in m.group_stints:
            if left is not None and left <= floor:
                continue  # ended before the history Cursor still serves
            last = _day(left - 1) if left is not None else None
            out[m.email].append((_day(joined), last, joined, names[group]))
    return out


async def test_billing_groups_follow_people_who_move(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        truth = api.sim.truth(api.sim.keys[0])
        body = await chargeback(api, by="team", granularity="month")
        mapping = await api.get(
            "/analytics/team-mapping", integrated_account_id=api.accounts["default"]
        )
    intervals = group_intervals(truth)
    events = truth.events()
    want, total = expected_charges(events, lambda e: pick(intervals, e.email, _day(e.timestamp_ms)))
    assert body["sources"] == {api.accounts["default"]: "billing_groups"}
    assert measured(body, "team") == want
    assert_adds_up(body, total)
    movers = {email for email, rows in intervals.items() if len({r[3] for r in rows}) > 1}
    charged_movers = {
        e.email
        for e in events
        if e.email in movers and _charged(e) and pick(intervals, e.email, _day(e.timestamp_ms))
    }
    assert charged_movers, "someone who changed teams spent money in the history"
    assert any(team is None for _, team in want), "some spend is unallocated"
    shown = {(r["email"], r["team"], r["valid_from"]) for r in mapping.json()["result"]}
    assert {(e, r[3], r[0].isoformat()) for e, rows in intervals.items() for r in rows} == shown


def directory_csv(truth: TeamTruth) -> tuple[str, Intervals, Intervals]:
    """A directory: three teams with cost centers; every third person moved on day 10 of
    the history; every seventh person is missing (their spend is unallocated)."""
    teams = {"Platform": "CC-100", "Apps": "CC-200", "Data": "CC-100"}
    names = list(teams)
    moved_on = _day(truth.history_start_ms) + dt.timedelta(days=10)
    lines = ["email,name,team,cost_center,status,valid_from,valid_to"]
    by_team: Intervals = defaultdict(list)
    by_center: Intervals = defaultdict(list)
    for n, m in enumerate(sorted(truth.members(), key=lambda m: m.email)):
        if n % 7 == 3:
            continue
        status = "offboarded" if m.removed_ms is not None else "active"
        first, second = names[n % 3], names[(n + 1) % 3]
        if n % 3 == 0:
            before = moved_on - dt.timedelta(days=1)
            lines.append(f"{m.email},{m.name},{first},{teams[first]},active,,{before}")
            lines.append(f"{m.email},{m.name},{second},{teams[second]},{status},{moved_on},")
            by_team[m.email] += [(dt.date.min, before, 0, first), (moved_on, None, 1, second)]
            by_center[m.email] += [(dt.date.min, before, 0, teams[first]),
                                   (moved_on, None, 1, teams[second])]  # fmt: skip
        else:
            lines.append(f"{m.email},{m.name},{first},{teams[first]},{status},,")
            by_team[m.email].append((dt.date.min, None, 0, first))
            by_center[m.email].append((dt.date.min, None, 0, teams[first]))
    return "\n".join(lines) + "\n", by_team, by_center


async def put_directory(api: ApiWorld, body: str | bytes, content_type: str = "text/csv") -> Any:
    return await api.client.put(
        "/directory", params={"integrated_account_id": api.accounts["default"]},
        content=body, headers={**api.auth(), "content-type": content_type},
    )  # fmt: skip


async def test_directory_teams_and_cost_centers(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        truth = api.sim.truth(api.sim.keys[0])
        text, by_team, by_center = directory_csv(truth)
        uploaded = await put_directory(api, text)
        assert uploaded.status_code == 200, uploaded.text
        assert uploaded.json()["entries"] == text.count("\n") - 1
        teams = await chargeback(api, by="team", granularity="month")
        centers = await chargeback(api, by="cost_center", granularity="month")
        groups = await chargeback(api, by="team", granularity="month", source="billing_groups")
    events = truth.events()
    for body, intervals, by in ((teams, by_team, "team"), (centers, by_center, "cost_center")):

        def owner(e: TruthEvent, i: Intervals = intervals) -> str | None:
            return pick(i, e.email, _day(e.timestamp_ms))

        want, total = expected_charges(events, owner)
        assert body["sources"] == {api.accounts["default"]: "directory"}
        assert measured(body, by) == want
        assert_adds_up(body, total)
        assert any(name is None for _, name in want)
    assert groups["sources"] == {api.accounts["default"]: "billing_groups"}


async def test_bad_uploads_are_refused_by_line_and_change_nothing(
    database_url: str, data_dir: Path
) -> None:
    good = "email,name,team,cost_center,status\nann@x.dev,Ann,Apps,CC-1,active\n"
    bad: list[tuple[bytes | str, str, str]] = [
        ("email,name,team\nann@x.dev,Ann,Apps\n", "text/csv", "line 1: missing column(s): cost_center, status"),
        (good + "bob@x.dev,Bob,Apps,CC-1,active,2026-13-01\n", "text/csv", "line 3: "),
        ("email,name,team,cost_center,status,valid_from,valid_to\n"
         "ann@x.dev,Ann,Apps,CC-1,active,2026-01-01,2026-03-31\n"
         "ann@x.dev,Ann,Data,CC-2,active,2026-03-01,\n", "text/csv", "line 3: ann@x.dev overlaps line 2"),
        ("email,name,team,cost_center,status,valid_from\nbob@x.dev,Bob,Apps,CC-1,active,03/01/2026\n",
         "text/csv", "line 2: valid_from must be a date YYYY-MM-DD"),
        ("email,name,team,cost_center,status\nnot-an-email,X,Apps,CC-1,active\n", "text/csv", "line 2: email"),
        ("email,name,team,cost_center,status\nann@x.dev,Ann,Apps,CC-1,gone\n", "text/csv", "line 2: status"),
        ('[{"email": "ann@x.dev", "name": "Ann", "team": "Apps", "cost_center": "C", "status": "active"}, 3]',
         "application/json", "line 2: an entry must be an object"),
        ('{"email": ', "application/json", "line 1: invalid JSON"),
        (b"\xff\xfe\x00junk", "text/csv", "line 1: not UTF-8"),
        (("garbage;" * 100 + "\n") * 9_000, "text/csv", "line 1: missing column(s)"),
        ("email,name,team,cost_center,status\n" + "junk\n" * 100_000, "text/csv",
         "100000 problem(s)"),
    ]  # fmt: skip
    async with api_world(database_url, data_dir, synced=False) as api:
        assert (await put_directory(api, good)).status_code == 200
        before = await api.get("/directory", integrated_account_id=api.accounts["default"])
        for body, content_type, message in bad:
            refused = await put_directory(api, body, content_type)
            assert refused.status_code == 400, (message, refused.text)
            error = refused.json()
            assert message in error["message"], (message, error["message"])
            assert error["details"]["problems"][0]["line"] >= 1
        junk = b"x" * (50 * 1024 * 1024)
        too_big = await put_directory(api, junk)
        assert too_big.status_code == 413
        assert "larger than 10 MiB" in too_big.json()["message"]  # api/limits.py, unread
        after = await api.get("/directory", integrated_account_id=api.accounts["default"])
    assert after.json() == before.json()
    assert [e["email"] for e in after.json()["result"]] == ["ann@x.dev"]


async def test_cost_centers_need_a_directory(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        response = await api.get("/analytics/chargeback", integrated_account_id=api.accounts["default"],
                                 by="cost_center")  # fmt: skip
    assert response.status_code == 400
    assert "directory" in response.json()["message"]


async def test_reconciliation_reports_drift(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        account = api.accounts["default"]
        clean = (await api.get("/analytics/reconciliation", integrated_account_id=account)).json()
        [cycle] = clean["cycles"]
        spend = api.sim.truth(api.sim.keys[0]).spend()
        billed = sum(Decimal(str(m["overallSpendCents"])) for m in spend["teamMemberSpend"]) / 100
        assert Decimal(cycle["billed"]) == Decimal(cycle["events"]) == billed > 0
        assert cycle["drift"] == "0" and cycle["drifts"] == []

        # Lose one charged event of the cycle from the store: its owner drifts by its cost.
        start_ms = spend["subscriptionCycleStart"]
        async with api.world.runtime.db.session() as session:
            lost = (await session.scalars(
                select(UsageEvent).where(UsageEvent.account_id == account,
                                         UsageEvent.timestamp_ms >= start_ms,
                                         UsageEvent.charged_cents_e6 > 0)
                .order_by(UsageEvent.timestamp_ms.desc()).offset(40).limit(1)
            )).one()  # fmt: skip
            email, cents_e6 = lost.email, lost.charged_cents_e6
            await session.execute(delete(UsageEvent).where(UsageEvent.id == lost.id))
            await rollups.refresh(session, account, [lost.day])
        drifted = (await api.get("/analytics/reconciliation", integrated_account_id=account)).json()
    [after] = drifted["cycles"]
    missing = Decimal(cents_e6) / 100_000_000
    [drift] = after["drifts"]
    assert drift["email"] == email
    assert Decimal(drift["billed"]) - Decimal(drift["events"]) == missing
    assert Decimal(drift["drift"]) == Decimal(after["drift"]) == -missing
