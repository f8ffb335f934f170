"""One company on two tools: a Cursor team and an Anthropic organization of the same people,
linked to one tenant. The people analysis is compared with a computation written here:
Claude Code's estimated cost per person from the Anthropic simulator's own rows, Cursor's
per person from the Cursor account's consumption answer, and who holds a seat in which tool
from both simulators' rosters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.connectors.anthropic.e2e_support import (
    CLAUDE_CODE,
    Env,
    days_of,
    environment,
    history,
)
from tests.connectors.anthropic.e2e_support import make_sim as make_anthropic_sim
from tests.support.cli import CLI
from tests.support.world import FAST_RETRY
from tests.support.world import make_sim as make_cursor_sim
from unimeter.connectors.cursor.budget import RateBudget
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.cursor.simulator import create_app as create_cursor_app

CURSOR_URL = "http://cursor.sim"
CENTS_E6 = Decimal(100 * 10**6)
DAY_MS = 86_400_000


def _cents_e6(amount: str) -> int:
    return int(Decimal(amount) * CENTS_E6)


async def _link_cursor(env: Env, sim: SimulatedCursor) -> str:
    connector = CursorConnector(
        minute_seconds=0.05,
        transport=httpx.ASGITransport(app=create_cursor_app(sim)),
        retry=FAST_RETRY,
        timeout=10.0,
        budget=RateBudget(minute_seconds=0.05),
    )
    env.runtime.registry.register(connector, replace=True)
    body = {"integration": "cursor", "credentials": {"api_key": sim.keys[0]},
            "tenant_id": "acme", "base_url": CURSOR_URL}  # fmt: skip
    response = await env.client.post("/integrated-accounts", json=body, headers=env.auth)
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id


async def _people(env: Env, **params: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    rows, summary, cursor = [], None, None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        page = await env.json("/analytics/people", tenant_id="acme", **params, **extra)
        summary = summary or page["summary"]
        rows += page["result"]
        cursor = page["next_cursor"]
        if cursor is None:
            return {r["email"]: r for r in rows}, summary


def _seated(removed_ms: int | None, as_of: dt.date) -> bool:
    end_ms = ((as_of - dt.date(1970, 1, 1)).days + 1) * DAY_MS
    return removed_ms is None or removed_ms >= end_ms


async def test_cost_per_person_and_who_holds_both_tools(database_url: str, data_dir: Path) -> None:
    cursor_sim = make_cursor_sim(users=10, days=20)
    cursor_people = cursor_sim.truth(cursor_sim.keys[0]).members()
    people = tuple((m.email, m.name) for m in cursor_people)
    sim = make_anthropic_sim(people=people, users=len(people))
    async with environment(database_url, data_dir, sim=sim) as env:
        anthropic_id = await env.linked()
        cursor_id = await _link_cursor(env, cursor_sim)
        await env.sync(anthropic_id)
        await env.sync(cursor_id)
        period = history(env.truth)
        as_of = days_of(env.truth)[-1]
        found, summary = await _people(env, **period, as_of=as_of.isoformat())
        served = await env.json("/analytics/people", tenant_id="acme", limit=1000, **period,
                                as_of=as_of.isoformat())  # fmt: skip
        consumption = await env.json(
            "/analytics/consumption", integrated_account_id=cursor_id, granularity="total",
            **{"group_by[]": "user"}, **period,
        )  # fmt: skip

    # Expected cost per person and product, from each vendor's own figures.
    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in consumption["result"]:
        if row["user_email"]:
            expected[row["user_email"].lower()]["cursor"] += _cents_e6(row["cost"]["charged"])
    for day in days_of(env.truth):
        for row in env.truth.claude_code_rows(day):
            if row["actor"]["type"] != "user_actor":
                continue
            email = row["actor"]["email_address"].lower()
            for usage in row["model_breakdown"]:
                cents = Decimal(str(usage["estimated_cost"]["amount"]))
                expected[email][CLAUDE_CODE] += int(cents * 10**6)
    assert expected
    for email, costs in expected.items():
        got = {p["product"]: _cents_e6(p["cost"]["charged"]) for p in found[email]["products"]}
        assert {k: v for k, v in got.items() if k in costs and v} == {
            k: v for k, v in costs.items() if v
        }, email
        code = next((p for p in found[email]["products"] if p["product"] == CLAUDE_CODE), None)
        if code is not None:
            assert code["estimated"] is True  # Claude Code's cost is Anthropic's estimate

    # Who holds which tool, from both rosters; the people holding both.
    holders: dict[str, set[str]] = defaultdict(set)
    for m in cursor_people:
        if _seated(m.removed_ms, as_of):
            holders[m.email.lower()].add("cursor")
    for u in env.truth.users():
        if _seated(u.removed_at_ms, as_of):
            holders[u.email.lower()].add("anthropic")
    for email, tools in holders.items():
        assert set(found[email]["tools"]) == tools, email
    both = sum(1 for tools in holders.values() if tools == {"anthropic", "cursor"})
    assert both > 0 and summary["multi_tool_people"] == both

    # The CLI prints the same answer, every page (it reads the same store).
    cli = CLI(data_dir=data_dir, database_url=database_url)
    out = cli("report", "people", "--tenant", "acme", "--start", period["start_date"],
              "--end", period["end_date"], "--as-of", as_of.isoformat(), "--format", "json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    served.pop("next_cursor")
    assert json.loads(out.stdout) == served
    as_csv = cli("report", "people", "--tenant", "acme", "--start", period["start_date"],
                 "--end", period["end_date"], "--format", "csv")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert {r["email"] for r in rows} == set(found)
    bad = cli("report", "people", "--tenant", "acme", "--as-of", "yesterday")
    assert bad.returncode != 0 and bad.stderr.startswith("error: ")
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
