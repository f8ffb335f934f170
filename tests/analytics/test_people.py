"""One person across tools (``/analytics/people``), against a computation made here from the
Cursor account's own consumption answer and the other vendor's rows the test wrote."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.analytics.crosstool import (
    ALIAS,
    API,
    CODE,
    GONE,
    PERIOD,
    SOLO,
    TENANT,
    TWO,
    CrossTool,
    cross_tool,
)

CENTS_E6 = Decimal(100 * 10**6)


async def _json(x: CrossTool, path: str, **params: Any) -> Any:
    response = await x.api.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def _walk(x: CrossTool, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor, summary = None, None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        page = await _json(x, "/analytics/people", tenant_id=TENANT, **PERIOD, **params, **extra)
        summary = summary or page["summary"]
        assert page["summary"] == summary, "the summary covers every page"
        rows += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, summary


def _cents(amount: str) -> int:
    return int(Decimal(amount) * CENTS_E6)


async def _expected(x: CrossTool, aliases: dict[str, str]) -> dict[str, dict[str, int]]:
    """person -> product -> cost (cents e6), from Cursor's per-user consumption and the rows."""
    cursor = await _json(x, "/analytics/consumption", integrated_account_id=x.cursor_id,
                         granularity="total", **{"group_by[]": "user"}, **PERIOD)  # fmt: skip
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in cursor["result"]:
        if r["user_email"]:
            out[r["user_email"].lower()]["cursor"] += _cents(r["cost"]["charged"])
    for u in x.usage:
        if u.email:
            person = aliases.get(u.email.lower(), u.email.lower())
            out[person][u.product] += u.cost
    return out


async def test_people_across_tools_match_by_email_and_alias(
    database_url: str, data_dir: Path
) -> None:
    async with cross_tool(database_url, data_dir) as x:
        directory = "email,name,team,cost_center,status,aliases\n" + "\n".join(
            f"{e},P{n},{'red' if n % 2 else 'blue'},cc{n},active,{ALIAS if e == x.aliased else ''}"
            for n, e in enumerate(x.cursor_emails)
        )
        put = await x.api.client.put(
            "/directory", params={"tenant_id": TENANT}, content=directory.encode(),
            headers={**x.api.auth(), "content-type": "text/csv"},
        )  # fmt: skip
        assert put.status_code == 200, put.text
        expected = await _expected(x, {ALIAS: x.aliased})
        rows, summary = await _walk(x, limit=2, sort="-cost")
        by_email = await _walk(x, limit=3, sort="email")
        teams = await _json(x, "/analytics/chargeback", tenant_id=TENANT, granularity="total",
                            **PERIOD)  # fmt: skip

    # A team's cost is the sum over every tool its people use, aliases resolved.
    team_of = {e: "red" if n % 2 else "blue" for n, e in enumerate(x.cursor_emails)}
    want: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for email, products in expected.items():
        for product, cost in products.items():
            if email in team_of:
                want[team_of[email]][product] += cost
    for row in teams["result"]:
        if not row["unallocated"]:
            got = {p["product"]: _cents(p["cost"]["charged"]) for p in row["products"]}
            assert got == {k: v for k, v in want[row["team"]].items() if v}, row["team"]
    red = next(r for r in teams["result"] if r["team"] == team_of[x.aliased])
    assert {p["product"] for p in red["products"]} == {"cursor", API}  # ALIAS used the API

    people = {r["email"]: r for r in rows}
    assert set(people) == {*x.cursor_emails, SOLO, GONE} | set(expected)
    assert [r["email"] for r in by_email[0]] == sorted(people)
    costs = [_cents(r["total"]["cost"]["charged"]) for r in rows]
    assert costs == sorted(costs, reverse=True), "costliest first"
    for email, costs_of in expected.items():
        got = {p["product"]: _cents(p["cost"]["charged"]) for p in people[email]["products"]}
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in costs_of.items() if v}
        assert _cents(people[email]["total"]["cost"]["charged"]) == sum(costs_of.values())

    # The same person in two tools: one email in other case, one through an alias.
    same, aliased = people[x.same], people[x.aliased]
    # Tools are vendors: the two products of one vendor are one tool.
    assert same["tools"] == sorted(["cursor", TWO])
    assert same["emails"] == [x.same]
    assert aliased["tools"] == sorted(["cursor", TWO])
    assert aliased["emails"] == sorted([x.aliased, ALIAS])
    assert ALIAS not in people
    lines = {p["product"]: p for p in same["products"]}
    assert lines[CODE]["estimated"] is True and lines[API]["estimated"] is False
    assert lines["cursor"]["estimated"] is False
    assert lines[CODE]["active_days"] == 2 and lines[API]["active_days"] == 1
    assert lines[CODE]["tokens"]["input"] == 1500
    assert _cents(same["estimated_cost"]) == 5 * 100 * 10**6
    # Removed before the day asked for: usage, no seat.
    assert people[GONE]["tools"] == []
    assert [p["seat"] for p in people[GONE]["products"]] == [False]

    tools = {t["product"]: t for t in summary["tools"]}
    n_cursor = len(x.cursor_emails)
    assert tools["cursor"]["seats"] == n_cursor
    assert (tools[CODE]["seats"], tools[API]["seats"]) == (3, 3)
    assert tools[CODE]["people"] == 3  # same, aliased and solo
    assert _cents(tools[API]["unattributed_cost"]) == 7 * 100 * 10**6
    # A member of the two-product vendor holds a seat in both its products (SOLO too), but
    # that is one tool: only the people also on Cursor hold several.
    assert summary["multi_tool_people"] == 2
    assert summary["combinations"] == [{"tools": sorted(["cursor", TWO]), "people": 2}]
    assert summary["people"] == len(people)


async def test_the_product_filter_and_an_earlier_day(database_url: str, data_dir: Path) -> None:
    async with cross_tool(database_url, data_dir) as x:
        only_api, summary = await _walk(x, product=API, as_of="2026-06-09")
        unknown = await x.api.get("/analytics/people", tenant_id=TENANT, product="nope")
        cursor_only = await _json(
            x, "/analytics/people", integrated_account_id=x.cursor_id, product="cursor", **PERIOD
        )

    # Only the API product's lines; GONE still held a seat on 2026-06-09.
    assert {p["product"] for r in only_api for p in r["products"]} == {API}
    gone = next(r for r in only_api if r["email"] == GONE)
    assert gone["tools"] == [TWO]
    assert [t["product"] for t in summary["tools"]] == [API]
    assert summary["tools"][0]["seats"] == 4
    assert summary["multi_tool_people"] == 0
    assert unknown.status_code == 400 and "unknown product" in unknown.text
    assert {t["product"] for t in cursor_only["summary"]["tools"]} == {"cursor"}


async def test_every_analysis_takes_the_product_filter(database_url: str, data_dir: Path) -> None:
    async with cross_tool(database_url, data_dir) as x:
        scope = {"tenant_id": TENANT, **PERIOD}
        whole = await _json(x, "/analytics/consumption", granularity="total",
                            **{"group_by[]": "product"}, **scope)  # fmt: skip
        api_only = await _json(x, "/analytics/consumption", granularity="total", product=API,
                               **scope)  # fmt: skip
        seats = await _json(x, "/analytics/seats", tenant_id=TENANT, as_of="2026-06-15")
        code_seats = await _json(x, "/analytics/seats", tenant_id=TENANT, product=CODE,
                                 as_of="2026-06-15")  # fmt: skip
        charge = await _json(x, "/analytics/chargeback", granularity="total", **scope)
        for path in ("/analytics/adoption", "/analytics/audit", "/analytics/anomalies"):
            assert (await x.api.get(path, tenant_id=TENANT, product=API)).status_code == 200

    per_product = {r["product"]: _cents(r["cost"]["charged"]) for r in whole["result"]}
    written: dict[str, int] = defaultdict(int)
    for u in x.usage:
        written[u.product] += u.cost
    assert {k: per_product[k] for k in (CODE, API)} == dict(written)
    assert _cents(api_only["totals"]["cost"]["charged"]) == written[API]
    assert api_only["scope"]["products"] == [API]
    assert {r["product"] for r in seats["by_product"]} == {"cursor", CODE, API}
    assert code_seats["provisioned"] == 3 and "by_product" not in code_seats
    # Chargeback: each bucket split by tool, the parts adding up to the bucket.
    for row in charge["result"]:
        parts = sum(_cents(p["cost"]["charged"]) for p in row["products"])
        assert parts == _cents(row["cost"]["charged"])
    assert _cents(charge["totals"]["cost"]["charged"]) == sum(per_product.values())
