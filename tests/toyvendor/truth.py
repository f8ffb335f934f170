"""Ground truth of a simulated Toy AI organization, in unimeter's terms.

Computed from the simulator's integers, never from what the API serves, so a mapping bug
(a dollar string parsed wrong, a null read as zero) makes the comparison fail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tests.toyvendor.simulator import SimulatedToy

PRODUCT = "toy_assistant"


@dataclass(frozen=True, slots=True)
class TruthMember:
    remote_id: str
    email: str
    name: str
    role: str
    is_removed: bool


@dataclass(frozen=True, slots=True)
class TruthFact:
    """One usage fact as unimeter must store it; ``None`` is a metric the vendor omits."""

    day: dt.date
    user_email: str
    actor: str
    surface: str
    model: str
    requests: int
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cost_cents_e6: int


class ToyTruth:
    def __init__(self, sim: SimulatedToy) -> None:
        self.sim = sim

    @property
    def first_day(self) -> dt.date:
        return self.sim.first_day

    def members(self) -> list[TruthMember]:
        return [
            TruthMember(m.id, m.email, m.name, m.role, m.removed is not None)
            for m in self.sim.members
        ]

    def facts(self) -> list[TruthFact]:
        rows = self.sim.usage(self.sim.first_day, self.sim.today + dt.timedelta(days=1))
        return [
            TruthFact(
                day=r.day,
                user_email=r.user_email or "",
                actor=r.api_key_id or "",
                surface="api" if r.user_email is None else "",
                model=r.model or "",
                requests=r.requests,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cache_read_tokens=r.cache_read_tokens,
                cache_write_tokens=r.cache_write_tokens,
                cost_cents_e6=r.cost_cents_e6,
            )
            for r in rows
        ]

    def audit_ids(self) -> set[str]:
        start = int(
            dt.datetime.combine(self.sim.first_day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000
        )
        return {e.id for e in self.sim.audit(start, self.sim.now_ms() + 1)}
