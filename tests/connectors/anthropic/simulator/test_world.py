"""Determinism per seed, the people handed over by another vendor, the quirk switches and
the demo world."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from unimeter.connectors.anthropic.simulator import Quirks, SimulatedAnthropic, default_admin_key
from unimeter.connectors.anthropic.simulator.demo import AnthropicDemoWorld
from unimeter.connectors.simulators import SimulatedPerson

from .conftest import BASE, TODAY, client_for, make_sim

YESTERDAY = TODAY - timedelta(days=1)
PEOPLE = tuple(
    (f"{first.lower()}.{n}@Example-Co.com" if n == 0 else f"{first.lower()}.{n}@example-co.com",
     f"{first} Person{n}")
    for n, first in enumerate(["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal"] * 4)
)  # fmt: skip


async def _snapshot(sim: SimulatedAnthropic) -> list[Any]:
    async with client_for(sim) as client:
        out = []
        for path, params in (
            ("/me", {}),
            ("/users", {"limit": 1000}),
            ("/api_keys", {}),
            ("/workspaces", {"include_archived": "true"}),
            ("/usage_report/claude_code", {"starting_at": YESTERDAY.isoformat(), "limit": 1000}),
            ("/cost_report", {"starting_at": "2026-06-01T00:00:00Z", "group_by[]": "description"}),
        ):
            query: dict[str, Any] = params
            out.append((await client.get(BASE + path, params=query)).json())
        return out


async def test_the_same_seed_serves_the_same_bytes() -> None:
    first, again = await _snapshot(make_sim()), await _snapshot(make_sim())
    assert first == again
    other = await _snapshot(make_sim(seed=8))
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_default_key_is_shaped_like_an_admin_key() -> None:
    key = default_admin_key(7)
    assert key == default_admin_key(7) != default_admin_key(8)
    assert key.startswith("sk-ant-admin01-") and len(key) == len("sk-ant-admin01-") + 93
    assert make_sim().keys == (key,)


def test_people_given_are_the_roster() -> None:
    sim = make_sim(people=PEOPLE)
    users = sim.truth().users()
    assert sorted(u.email for u in users) == sorted(e for e, _ in PEOPLE)
    assert {u.name for u in users} == {n for _, n in PEOPLE}
    removed = [u for u in users if u.removed_at_ms is not None]
    assert 2 <= len(removed) <= 8  # about 15 %
    coders: set[str] = set()
    for back in range(1, 30):
        rows = sim.truth().claude_code_rows(TODAY - timedelta(days=back))
        coders |= {r["actor"]["email_address"] for r in rows if r["actor"]["type"] == "user_actor"}
    assert coders < {u.email for u in users}, "some people never use Claude Code"
    assert "ada.0@Example-Co.com" in {u.email for u in users}, "emails are kept exactly"


async def test_removed_users_vanish_but_their_rows_remain(sim: SimulatedAnthropic) -> None:
    truth = sim.truth()
    removed = {u.email: u.removed_at_ms for u in truth.users() if u.removed_at_ms is not None}
    async with client_for(sim) as client:
        listed = (await client.get(f"{BASE}/users", params={"limit": 1000})).json()["data"]
    assert not removed.keys() & {u["email"] for u in listed}
    for back in range(1, 40):
        day = TODAY - timedelta(days=back)
        for row in truth.claude_code_rows(day):
            email = row["actor"].get("email_address")
            if email in removed:
                start_ms = (day.toordinal() - 719163) * 86_400_000
                assert start_ms < removed[email], "no rows after a removal"


def test_quirks_switch_the_shapes() -> None:
    plain = make_sim(
        quirks=Quirks(
            extra_fields=False,
            date_format="date",
            fractional_cost=True,
            subscription_missing=True,
            shuffle_rows=False,
        )
    ).truth()
    real = make_sim().truth()
    rows = plain.claude_code_rows(YESTERDAY - timedelta(days=3))
    assert rows and all(r["date"] == str(YESTERDAY - timedelta(days=3)) for r in rows)
    assert all(r["customer_type"] == "api" for r in rows)
    assert all("app_version" not in r for r in rows)
    assert all("bash_tool" not in r["tool_actions"] for r in rows)
    amounts = [m["estimated_cost"]["amount"] for r in rows for m in r["model_breakdown"]]
    assert all(isinstance(a, float) for a in amounts)
    keys = [
        (r["actor"]["type"], r["actor"].get("email_address", ""), r["terminal_type"]) for r in rows
    ]
    assert keys == sorted(keys)
    real_rows = [
        r for back in range(1, 10) for r in real.claude_code_rows(TODAY - timedelta(days=back))
    ]
    assert {r["customer_type"] for r in real_rows} == {"api", "subscription"}
    assert all(
        isinstance(m["estimated_cost"]["amount"], int)
        for r in real_rows
        for m in r["model_breakdown"]
    )
    assert all(r["date"].endswith("T00:00:00Z") for r in real_rows)


def test_api_actors_are_named_by_an_api_key() -> None:
    truth = make_sim().truth()
    names = {k["name"] for k in truth.api_keys()}
    actors = {
        r["actor"]["api_key_name"]
        for back in range(1, 10)
        for r in truth.claude_code_rows(TODAY - timedelta(days=back))
        if r["actor"]["type"] == "api_actor"
    }
    assert actors and actors <= names


async def test_the_demo_world_shares_people_and_plants_a_spike() -> None:
    people = tuple(SimulatedPerson(email=e, name=n) for e, n in PEOPLE)
    world = AnthropicDemoWorld(5, 30, 30, 1.0, people)
    assert len(world.workspaces) == 2
    assert {p.email for p in world.people()} == {e for e, _ in PEOPLE}
    first = world.sim.truth(world.sim.keys[0])
    (planted,) = world.plant_anomalies()
    day = date(1970, 1, 1) + timedelta(days=planted.day_ms // 86_400_000)
    spent = first.claude_code_cost_by_email(day)[planted.email]
    usual = AnthropicDemoWorld(5, 30, 30, 1.0, people).sim.truth()
    before = [
        usual.claude_code_cost_by_email(day - timedelta(days=n)).get(planted.email, 0)
        for n in range(1, 15)
    ]
    assert spent > 5 * max(before)
    key = world.workspaces[1].credentials["api_key"]
    transport = httpx.ASGITransport(app=world.asgi_app())
    async with httpx.AsyncClient(transport=transport, base_url="https://x.test") as client:
        me = await client.get(f"{BASE}/me", headers={"x-api-key": key})
    assert me.json()["name"] == world.workspaces[1].name
