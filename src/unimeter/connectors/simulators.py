"""What a connector may ship besides itself: a local simulator of its vendor's API, for
``unimeter simulator --vendor SLUG``, ``unimeter demo`` and tests (optional: a connector
without one declares ``simulator = None``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the contract imports this module
    from .contract import Connector, Credentials


@dataclass(frozen=True, slots=True)
class SimulatedWorkspace:
    """One workspace of a vendor simulator, as the demo links and presents it."""

    name: str
    members: int
    credentials: Credentials
    # One line of user-facing copy on what sets it apart (its plan, say), or "".
    note: str = ""


@dataclass(frozen=True, slots=True)
class SimulatedPerson:
    """One person of the simulated company: the demo hands the people of its first
    vendor's world to the others, so every tool is used by the same company."""

    email: str
    name: str


@dataclass(frozen=True, slots=True)
class PlantedAnomaly:
    """An anomaly planted in a simulated workspace, for the demo's output."""

    what: str
    email: str
    day_ms: int


class DemoWorld(Protocol):
    """A running simulator for ``unimeter demo``: at least two workspaces, the first is
    linked and backfilled, the second is left for the visitor to link on the Connect page."""

    workspaces: tuple[SimulatedWorkspace, ...]

    def people(self) -> tuple[SimulatedPerson, ...]:
        """The people of the first workspace (current and removed), for the other vendors."""
        ...

    def asgi_app(self) -> Any:
        """The simulator's HTTP API (an ASGI application) that the demo serves."""
        ...

    def connector(self) -> Connector:
        """The vendor's connector, configured to match the simulator (its rate-limit clock)."""
        ...

    def plant_anomalies(self) -> list[PlantedAnomaly]:
        """Plant anomalies in the first workspace, in the days a sync's detection examines."""
        ...


@dataclass(frozen=True, slots=True)
class SimulatorSpec:
    """A local stand-in for the vendor's API, for ``unimeter simulator --vendor SLUG``,
    ``unimeter demo`` and tests. Optional: a connector without one declares ``None``."""

    # Returns the simulator's Typer command function (its options are its own: ``--port``,
    # …); a factory, so the simulator is imported only when it runs.
    command: Callable[[], Callable[..., None]]
    # The demo's world: ``demo(seed, users, days, minute_seconds, people)``. ``people`` is
    # empty for the first vendor; the others build their first workspace from them.
    demo: Callable[[int, int, int, float, tuple[SimulatedPerson, ...]], DemoWorld]
