"""A simulated Cursor deployment: one team per API key, plus limits and faults shared by all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .agents import AgentBook
from .aicode import AICode
from .analytics_data import AnalyticsData
from .audit import AuditLog
from .clock import SimClock
from .config import SimulatorConfig
from .events import EventSelector
from .faults import FaultInjector
from .ledger import Ledger
from .limits import RateLimiter
from .team import SimTeam
from .usage import UsageStats

if TYPE_CHECKING:
    from .truth import TeamTruth


@dataclass(slots=True)
class TeamServices:
    """A team with the query helpers (and their caches) that serve it."""

    team: SimTeam
    events: EventSelector
    usage: UsageStats
    ledger: Ledger
    audit: AuditLog
    aicode: AICode
    agents: AgentBook
    analytics: AnalyticsData = field(init=False)


class SimulatedCursor:
    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.config.validate()
        self.clock = SimClock(self.config.now_ms)
        self.limiter = RateLimiter(
            enabled=self.config.rate_limits == "real", minute_seconds=self.config.minute_seconds
        )
        self.faults = FaultInjector(
            seed=self.config.seed, rate=self.config.fault_rate, forced=self.config.force_fault
        )
        self._teams: dict[str, TeamServices] = {}
        self._revoked: set[str] = set()
        for key in self.config.keys:
            team = SimTeam(key, self.config, self.clock)
            self._teams[key] = TeamServices(
                team=team,
                events=EventSelector(team),
                usage=UsageStats(team),
                ledger=Ledger(team),
                audit=AuditLog(team),
                aicode=AICode(team, enabled=self.config.enterprise_apis),
                agents=AgentBook(team, enabled=self.config.enterprise_apis),
            )
            self._teams[key].analytics = AnalyticsData(self._teams[key])
        # Counts every request that reached a team (after authentication), by key.
        self.requests: dict[str, int] = dict.fromkeys(self._teams, 0)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._teams)

    def services(self, key: str) -> TeamServices | None:
        if key in self._revoked:
            return None
        return self._teams.get(key)

    def team(self, key: str) -> SimTeam:
        return self._teams[key].team

    def all_services(self, key: str) -> TeamServices:
        """A team's services even when its key is revoked (for ground truth)."""
        return self._teams[key]

    def truth(self, key: str | None = None) -> TeamTruth:
        """Ground truth of a team (the first one by default)."""
        from .truth import TeamTruth

        return TeamTruth(self, key or self.keys[0])

    def inject_spike(
        self, key: str, email: str, day_ms: int, *, factor: int = 20, model: str | None = None,
        headless: bool = False,
    ) -> None:  # fmt: skip
        """Give a member a day of runaway usage: ``factor`` times their events that day,
        optionally all on ``model`` and all headless (a runaway agent)."""
        from .activity import Spike
        from .catalog import MODEL_INDEX

        team = self.team(key)
        member = next(m for m in team.members if m.email == email)
        model_index = MODEL_INDEX[model] if model is not None else None
        team.inject_spike(Spike(member.index, factor, model_index, headless), day_ms // 86_400_000)

    def revoke(self, key: str) -> None:
        """Make a key invalid from now on, as if an admin deleted it in the dashboard."""
        self._revoked.add(key)

    def restore(self, key: str) -> None:
        self._revoked.discard(key)
