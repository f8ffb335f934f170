"""Consumption (tokens and cost by user, model and period) against sums computed here
from the events the simulator serves."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.api import ApiWorld, api_world
from unimeter.analytics.consumption_repository import ConsumptionQuery, Plan, plan
from unimeter.connectors.cursor.simulator import Quirks
from unimeter.connectors.cursor.simulator.truth import TruthEvent

START = "2020-01-01"  # before anything the simulator holds

Key = tuple[Any, ...]


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _dollars(cents: Any) -> Decimal:
    return Decimal(str(cents)) / 100


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def expected(
    events: list[TruthEvent], key: Callable[[TruthEvent], Key]
) -> dict[Key, tuple[Any, ...]]:
    """``{key: (events, input, output, cache read, cache write, charged, included,
    usage-based)}``: included and usage-based split by the event's kind label."""
    sums: dict[Key, list[Any]] = defaultdict(
        lambda: [0, 0, 0, 0, 0, Decimal(0), Decimal(0), Decimal(0)]
    )
    for event in events:
        p = event.payload
        usage = p.get("tokenUsage") or {}
        charged = _dollars(p.get("chargedCents", 0))
        kind = p["kind"].lower()
        row = sums[key(event)]
        row[0] += 1
        row[1] += usage.get("inputTokens", 0)
        row[2] += usage.get("outputTokens", 0)
        row[3] += usage.get("cacheReadTokens", 0)
        row[4] += usage.get("cacheWriteTokens", 0)
        row[5] += charged
        row[6] += charged if kind.startswith("included") else 0
        row[7] += charged if kind.startswith("usage-based") else 0
    return {k: tuple(v) for k, v in sums.items()}


def measured(row: dict[str, Any]) -> tuple[Any, ...]:
    tokens, cost = row["tokens"], row["cost"]
    assert tokens["total"] == sum(
        tokens[k] for k in ("input", "output", "cache_read", "cache_write")
    )
    return (
        row["events"], tokens["input"], tokens["output"], tokens["cache_read"],
        tokens["cache_write"], Decimal(cost["charged"]), Decimal(cost["included"]),
        Decimal(cost["usage_based"]),
    )  # fmt: skip


async def walk(api: ApiWorld, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every row over every page, and the last page's body."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await api.get(
            "/analytics/consumption", **params, **({"next_cursor": cursor} if cursor else {})
        )
        assert page.status_code == 200, page.text
        body: dict[str, Any] = page.json()
        rows += body["result"]
        cursor = body["next_cursor"]
        if cursor is None:
            return rows, body


# Cursor blanks removed members' emails; with the quirk off every event names its user, so
# per-user sums can be compared exactly.
QUIET = {"quirks": Quirks(removed_user_email=False)}


async def test_by_user_model_and_day_equals_the_events(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        truth = api.sim.truth(api.sim.keys[0])
        account = api.accounts["default"]
        rows, body = await walk(
            api, integrated_account_id=account, start_date=START,
            **{"group_by[]": ["user", "model"]}, granularity="day", limit=97,
        )  # fmt: skip
    events = truth.events()
    want = expected(events, lambda e: (_day(e.timestamp_ms), e.email, e.payload["model"]))
    got = {
        (dt.date.fromisoformat(r["period_start"]), r["user_email"], r["model"]): measured(r)
        for r in rows
    }
    assert len(got) == len(rows), "each (day, user, model) appears once across pages"
    assert got == want
    assert len(rows) > 97, "the walk crossed pages"
    for r in rows:
        start = dt.date.fromisoformat(r["period_start"])
        assert r["period_end"] == (start + dt.timedelta(days=1)).isoformat()
        assert r["integrated_account_id"] == account
    assert measured(body["totals"]) == expected(events, lambda e: ())[()]
    assert body["others"] is None


async def test_months_by_model_and_the_top_users(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        truth = api.sim.truth(api.sim.keys[0])
        account = api.accounts["default"]
        months, _ = await walk(
            api, integrated_account_id=account, start_date=START,
            **{"group_by[]": "model"}, granularity="month",
        )  # fmt: skip
        top, top_body = await walk(
            api, integrated_account_id=account, start_date=START,
            **{"group_by[]": "user"}, granularity="total", top=3,
        )  # fmt: skip
        # Weekly, one row a page: each week's rows costliest first, across pages.
        weekly, _ = await walk(
            api, integrated_account_id=account, start_date=START,
            **{"group_by[]": "user"}, granularity="week", top=3, limit=1,
        )  # fmt: skip
        weekly_whole, _ = await walk(
            api, integrated_account_id=account, start_date=START,
            **{"group_by[]": "user"}, granularity="week", top=3,
        )  # fmt: skip
    events = truth.events()
    by_month = expected(events, lambda e: (_month(_day(e.timestamp_ms)), e.payload["model"]))
    got = {(dt.date.fromisoformat(r["period_start"]), r["model"]): measured(r) for r in months}
    assert got == by_month
    assert all("user_email" not in r for r in months)
    assert len({month for month, _ in got}) >= 2, "the range spans months"

    by_user = expected(events, lambda e: (e.email,))
    ranked = sorted(by_user, key=lambda k: (-by_user[k][5], -sum(by_user[k][1:5]), k))
    assert [r["rank"] for r in top] == [1, 2, 3], "the costliest first, as returned"
    order = [(r["period_start"], r["rank"]) for r in weekly]
    assert order == sorted(order) and len(order) > 3, order
    assert weekly == weekly_whole, "no row twice, none skipped between pages"
    assert {r["user_email"] for r in weekly} == {r["user_email"] for r in top}
    assert [(r["user_email"],) for r in top] == ranked[:3]
    assert [measured(r) for r in top] == [by_user[k] for k in ranked[:3]]
    total = measured(top_body["totals"])
    others = measured(top_body["others"])
    assert total == expected(events, lambda e: ())[()]
    for i in range(len(total)):
        assert sum(measured(r)[i] for r in top) + others[i] == total[i]


async def test_partial_months_add_up_exactly(database_url: str, data_dir: Path) -> None:
    """A month mostly inside the range is read whole less the days outside it; one mostly
    outside is read day by day. Either way the sums are those of the events in the range."""
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        truth = api.sim.truth(api.sim.keys[0])
        account = api.accounts["default"]
        events = truth.events()
        days = {_day(e.timestamp_ms) for e in events}
        month = max({_month(d) for d in days}, key=lambda m: sum(_month(d) == m for d in days))
        next_month = (month + dt.timedelta(days=31)).replace(day=1)
        # Most of the month (less its first two and last days), then only its last ten days.
        ranges = [(month + dt.timedelta(days=2), next_month - dt.timedelta(days=1)),
                  (next_month - dt.timedelta(days=10), next_month)]  # fmt: skip
        outside = {month, month + dt.timedelta(days=1), next_month - dt.timedelta(days=1)}
        assert outside <= days, "the days outside the first range have events to take away"
        for start, end in ranges:
            rows, body = await walk(
                api, integrated_account_id=account, start_date=start.isoformat(),
                end_date=end.isoformat(), **{"group_by[]": ["user", "model"]},
                granularity="month",
            )  # fmt: skip
            top, _ = await walk(
                api, integrated_account_id=account, start_date=start.isoformat(),
                end_date=end.isoformat(), **{"group_by[]": "user"}, granularity="total", top=2,
            )  # fmt: skip
            inside = [e for e in events if start <= _day(e.timestamp_ms) < end]
            want = expected(inside, lambda e: (month, e.email, e.payload["model"]))
            got = {
                (dt.date.fromisoformat(r["period_start"]), r["user_email"], r["model"]): measured(r)
                for r in rows
            }
            assert got == want, (start, end)
            assert measured(body["totals"]) == expected(inside, lambda e: ())[()]
            by_user = expected(inside, lambda e: (e.email,))
            ranked = sorted(by_user, key=lambda k: (-by_user[k][5], -sum(by_user[k][1:5]), k))
            assert [(r["user_email"],) for r in sorted(top, key=lambda r: r["rank"])] == ranked[:2]


def test_a_month_mostly_inside_is_read_whole_less_the_days_outside() -> None:
    q = ConsumptionQuery(("a",), dt.date(2026, 3, 3), dt.date(2026, 5, 11), True, True, "month")
    assert plan(q) == Plan(
        months=(dt.date(2026, 3, 1), dt.date(2026, 5, 1)),
        added=[(dt.date(2026, 5, 1), dt.date(2026, 5, 11))],
        taken=[(dt.date(2026, 3, 1), dt.date(2026, 3, 3))],
    )
    weekly = dataclasses.replace(q, granularity="week")
    assert plan(weekly) == Plan(None, [(q.start, q.end)], [])


async def test_pages_read_period_by_period_equal_one_page(
    database_url: str, data_dir: Path
) -> None:
    """A page is filled from the first periods after its cursor, read a run at a time: small
    pages (cursors inside a period, runs of empty weeks before the data, a page ending at a
    period's last group) give every row of the single page, in its order."""
    async with api_world(database_url, data_dir, sim_options=QUIET) as api:
        account = api.accounts["default"]
        params = {"integrated_account_id": account, "start_date": START,
                  "group_by[]": ["user", "model"]}  # fmt: skip
        whole, whole_body = await walk(api, **params, granularity="week", limit=10000)
        first = whole[0]["period_start"]
        first_week = sum(r["period_start"] == first for r in whole)
        paged: dict[int, list[dict[str, Any]]] = {}
        # A page of the first week's rows ends at its last group; 59 ends inside periods.
        for limit in (59, first_week):
            paged[limit], body = await walk(api, **params, granularity="week", limit=limit)
            assert body["totals"] == whole_body["totals"]
        monthly, _ = await walk(api, **params, granularity="month", limit=10000)
        monthly_paged, _ = await walk(api, **params, granularity="month", limit=59)
    assert whole_body["next_cursor"] is None and len(whole) > 2 * 59
    assert dt.date.fromisoformat(first) > dt.date.fromisoformat(START) + dt.timedelta(days=60), (
        "weeks without usage come before the first row"
    )
    weeks = [r["period_start"] for r in whole]
    assert any(weeks[i] == weeks[i - 1] for i in range(59, len(weeks), 59)), (
        "some page of 59 ends inside a week"
    )
    for limit, rows in paged.items():
        assert rows == whole, limit
    assert monthly_paged == monthly and len(monthly) > 59
