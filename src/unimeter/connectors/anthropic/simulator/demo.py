"""The Anthropic world of ``unimeter demo``: two simulated organizations and the anomaly
planted in the first (the demo itself only knows the
:class:`~unimeter.connectors.simulators.DemoWorld` contract).

The first organization is built from the demo's shared people (the same company as the
other vendors') and is linked and backfilled; the second, small, waits for a newcomer to
paste its admin key into the Connect page.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from unimeter.connectors.contract import Connector
from unimeter.connectors.simulators import PlantedAnomaly, SimulatedPerson, SimulatedWorkspace

from .app import create_app
from .config import DAY_MS, AnthropicSimConfig
from .handlers import code_day_complete
from .ids import admin_key_for, date_day, day_date
from .records import current_users
from .world import SimulatedAnthropic


class AnthropicDemoWorld:
    def __init__(
        self,
        seed: int,
        users: int,
        days: int,
        minute_seconds: float,
        people: tuple[SimulatedPerson, ...] = (),
    ) -> None:
        self.minute_seconds = minute_seconds
        keys = tuple(admin_key_for(seed, "demo", n) for n in (1, 2))
        # The clock follows the wall clock, so "the last 7 and 30 days" are full of data.
        self.sim = SimulatedAnthropic(
            AnthropicSimConfig(
                seed=seed,
                users=users,
                days=days,
                people=tuple((p.email, p.name) for p in people),
                admin_keys=keys,
                minute_seconds=minute_seconds,
            )
        )
        now = self.sim.clock.now_ms()
        notes = ("", "a small second organization, to link on the Connect page")
        self.workspaces = tuple(
            SimulatedWorkspace(
                name=self.sim.org(key).roster.org_name,
                members=len(current_users(self.sim.org(key), now)),
                credentials={"api_key": key},
                note=note,
            )
            for key, note in zip(keys, notes, strict=True)
        )

    def people(self) -> tuple[SimulatedPerson, ...]:
        users = self.sim.org(self.sim.keys[0]).roster.users
        return tuple(SimulatedPerson(email=u.email, name=u.name) for u in users)

    def asgi_app(self) -> Any:
        return create_app(self.sim)

    def connector(self) -> Connector:
        from ..connector import AnthropicConnector  # the connector imports this module lazily

        # The client budget paces itself on the simulator's rate-limit minute.
        return AnthropicConnector(minute_seconds=self.minute_seconds)

    def plant_anomalies(self) -> list[PlantedAnomaly]:
        return plant_anomalies(self.sim, self.sim.keys[0])


def plant_anomalies(sim: SimulatedAnthropic, key: str) -> list[PlantedAnomaly]:
    """A runaway Claude Code day (20x) for the heaviest current user, on the most recent day
    whose analytics are served (yesterday once it ended an hour ago, else the day before)."""
    now = sim.clock.now_ms()
    day = now // DAY_MS - 1
    if not code_day_complete(day, now):
        day -= 1
    email = _heaviest(sim, key, day)
    sim.plant_spike(key, email, day * DAY_MS, factor=20)
    return [PlantedAnomaly("20x their usual Claude Code spend", email, day * DAY_MS)]


def _heaviest(sim: SimulatedAnthropic, key: str, last_day: int) -> str:
    """The current user with the largest Claude Code estimates over the 30 days before."""
    truth = sim.truth(key)
    present = {u.email for u in current_users(sim.org(key), sim.clock.now_ms())}
    totals: Counter[str] = Counter()
    start = day_date(last_day) - timedelta(days=30)
    for back in range(30):
        day = start + timedelta(days=back)
        if date_day(day) < sim.org(key).history_start_day:
            continue
        for email, cents in truth.claude_code_cost_by_email(day).items():
            if email in present:
                totals[email] += int(cents)
    if not totals:
        return sorted(present)[0]
    return totals.most_common(1)[0][0]
