"""The Cursor world of ``unimeter demo``: two simulated teams and the anomalies planted in
the first (the demo itself only knows the :class:`~unimeter.connectors.contract.DemoWorld`
contract).

The first team is on the Enterprise plan, is linked and backfilled; the second, on Cursor's
Team plan, waits for a newcomer to paste its key into the Connect page.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from unimeter.connectors.contract import Connector
from unimeter.connectors.simulators import PlantedAnomaly, SimulatedPerson, SimulatedWorkspace

from .app import create_app
from .config import SimulatorConfig
from .world import SimulatedCursor

DAY_MS = 86_400_000
ENTERPRISE_DAYS = 14
AGENT_DAYS = 1


class CursorDemoWorld:
    def __init__(self, *, seed: int, users: int, days: int, minute_seconds: float) -> None:
        self.minute_seconds = minute_seconds
        self.sim = simulator(
            team_keys(seed), seed=seed, users=users, days=days, minute_seconds=minute_seconds
        )
        notes = ("", "on Cursor's Team plan (no Enterprise APIs)")
        self.workspaces = tuple(
            SimulatedWorkspace(
                name=self.sim.team(key).roster.team_name,
                members=len(self.sim.team(key).members),
                credentials={"api_key": key},
                note=note,
            )
            for key, note in zip(self.sim.keys, notes, strict=True)
        )

    def people(self) -> tuple[SimulatedPerson, ...]:
        roster = self.sim.team(self.sim.keys[0]).roster
        return tuple(SimulatedPerson(email=m.email, name=m.name) for m in roster.members)

    def asgi_app(self) -> Any:
        return create_app(self.sim)

    def connector(self) -> Connector:
        from ..connector import CursorConnector  # the connector imports this module lazily

        # The client budget paces itself on the simulator's rate-limit minute.
        return CursorConnector(minute_seconds=self.minute_seconds)

    def plant_anomalies(self) -> list[PlantedAnomaly]:
        return plant_anomalies(self.sim, self.sim.keys[0])


def team_keys(seed: int) -> tuple[str, str]:
    """Two simulator keys shaped like Cursor's (``crsr_`` + 64 hex), stable across runs."""
    first, second = (
        "crsr_" + hashlib.sha256(f"unimeter-demo:{seed}:{n}".encode()).hexdigest() for n in (1, 2)
    )
    return first, second


def simulator(
    keys: tuple[str, ...], *, seed: int, users: int, days: int, minute_seconds: float
) -> SimulatedCursor:
    # The clock follows the wall clock, so "the last 7 and 30 days" are full of data. The
    # second team is on Cursor's Team plan: once linked, it shows what a team without
    # Enterprise gets (no audit log, no billing groups) and the notes that say so.
    config = SimulatorConfig(
        seed=seed,
        users=users,
        days=days,
        api_keys=keys,
        key_plans=tuple((key, "team") for key in keys[1:]),
        minute_seconds=minute_seconds,
        # A team that turned on AI Code Tracking two weeks ago and deletes its cloud agents
        # after a day: 120 days of every accepted AI change and every agent's runs (two reads
        # an agent, at Cursor's limits: ~85 agents a day here) would take the backfill
        # minutes, not seconds. Measured: 14 days of AI code cost 15 s; 3 days of agents 94 s.
        enterprise_days=ENTERPRISE_DAYS,
        agent_days=AGENT_DAYS,
    )
    return SimulatedCursor(config)


def plant_anomalies(sim: SimulatedCursor, key: str) -> list[PlantedAnomaly]:
    """Runaway days for three heavy seated members, inside the days detection examines after
    a sync (the last three): yesterday and the day before are whole days whatever the hour."""
    today = sim.clock.now_ms() // DAY_MS
    yesterday, before = (today - 1) * DAY_MS, (today - 2) * DAY_MS
    heavy = _heaviest(sim, key, since_ms=(today - 30) * DAY_MS, count=3)
    sim.inject_spike(key, heavy[0], yesterday, factor=20)
    sim.inject_spike(key, heavy[1], before, factor=15, headless=True)
    sim.inject_spike(key, heavy[2], yesterday, factor=8, model="claude-opus-4.6")
    return [
        PlantedAnomaly("20x their usual usage", heavy[0], yesterday),
        PlantedAnomaly("a runaway headless agent, 15x", heavy[1], before),
        PlantedAnomaly("8x their usual usage, all on claude-opus-4.6", heavy[2], yesterday),
    ]


def _heaviest(sim: SimulatedCursor, key: str, *, since_ms: int, count: int) -> list[str]:
    """The seated members with the most recent events: their spikes clear the minimum
    amounts detection asks for (a light user's tenfold day is too small to page anyone)."""
    truth = sim.truth(key)
    now = sim.clock.now_ms()
    seated = {m.email for m in truth.members() if m.removed_ms is None or m.removed_ms > now}
    counts = Counter(e.email for e in truth.events(since_ms) if e.email in seated)
    return [email for email, _ in counts.most_common(count)]
