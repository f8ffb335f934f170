"""What the vendor offers an account, stream by stream, as the last sync learned it.

A stream is ``available`` once it was read, ``unavailable`` when the vendor refused it (a
403 or 404: the account's plan lacks it), and ``unknown`` until a sync has tried it. An
unavailable stream is asked again once a day (``RECHECK_UNAVAILABLE_MS``), so a plan upgrade
shows up by the next day without costing a request on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from unimeter.connectors.source import StreamSpec
from unimeter.connectors.windows import DAY_MS
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.sync.store import state_repository
from unimeter.sync.store.state_repository import StreamState

Availability = Literal["available", "unavailable", "unknown"]
# A stream the vendor refused is asked again at most this often.
RECHECK_UNAVAILABLE_MS = DAY_MS


@dataclass(frozen=True, slots=True)
class Capability:
    stream: str
    provides: str
    status: Availability
    reason: str | None = None
    checked_at: int | None = None

    @property
    def next_check_at(self) -> int | None:
        """When a sync asks for an unavailable stream again."""
        if self.status != "unavailable" or self.checked_at is None:
            return None
        return self.checked_at + RECHECK_UNAVAILABLE_MS


def capabilities_of(
    specs: Iterable[StreamSpec], states: dict[str, StreamState]
) -> list[Capability]:
    out = []
    for spec in specs:
        state = states.get(spec.name)
        status: Availability = "unknown"
        if state is not None and state.availability in ("available", "unavailable"):
            status = "available" if state.availability == "available" else "unavailable"
        out.append(
            Capability(
                stream=spec.name,
                provides=spec.provides,
                status=status,
                reason=state.unavailable_reason if state and status == "unavailable" else None,
                checked_at=state.checked_at if state else None,
            )
        )
    return out


async def for_accounts(
    runtime: Runtime, accounts: Sequence[IntegratedAccount]
) -> dict[str, list[Capability]]:
    """What each account's vendor offers it, stream by stream (``unknown`` before a sync)."""
    async with runtime.db.reader() as session:
        states = await state_repository.states_of(session, [a.id for a in accounts])
    return {
        a.id: capabilities_of(runtime.registry.get(a.integration).streams, states[a.id])
        for a in accounts
    }
