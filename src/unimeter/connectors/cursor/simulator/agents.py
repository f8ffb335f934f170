"""Cloud agents and their runs, derived from the usage events that carry a ``cloudAgentId``.

An agent is every event sharing one cloud agent id (the events' ``cloudAgentId`` is the
agent's ``bc-…`` id). Its events split into runs at pauses longer than :data:`RUN_GAP_MS`,
so a run's window ``[createdAt, updatedAt]`` holds exactly that run's events, and its token
usage is the sum of their token counts (the agent service knows them at once; only the
usage-events feed lags).

The split is made once per day over all of the day's events (it does not depend on "now");
what a reader sees at a given time (runs started, events visible, runs still going) is
applied on read.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .activity import DayEvents
from .codegen import FEATURE_WORDS, team_repos
from .config import DAY_MS, MINUTE_MS
from .events import cloud_agent_id
from .rng import mix64, unit_interval, uuid_from
from .team import SimTeam

I64 = npt.NDArray[np.int64]

RUN_GAP_MS = 45 * MINUTE_MS
# Terminal outcomes of runs, with cumulative probabilities.
_OUTCOMES = (("FINISHED", 0.72), ("ERROR", 0.87), ("CANCELLED", 0.94), ("EXPIRED", 1.0))
ENV_TYPES = ("cloud", "machine", "pool", "machine")  # by HOSTING_TYPES index
_TASKS = (
    "Fix flaky {w} test", "Add {w} endpoint", "Refactor {w} module", "Investigate {w} bug",
    "Write tests for {w}", "Upgrade {w} dependency", "Clean up {w} logging",
)  # fmt: skip
USAGE_FIELDS = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    agent_key: int
    index: int
    user: int
    start_ms: int  # first event
    end_ms: int  # last event (possibly later than now)
    events: DayEvents
    idx: I64  # the run's events in ``events``

    @property
    def created_ms(self) -> int:
        return self.start_ms - 5_000 - mix64(self.agent_key + self.index) % 55_000

    @property
    def finished_ms(self) -> int:
        return self.end_ms + 30_000 + mix64(self.agent_key - self.index) % 270_000

    @property
    def outcome(self) -> str:
        draw = unit_interval(mix64(self.agent_key ^ (self.index * 0x9E37)))
        return next(name for name, cum in _OUTCOMES if draw < cum)

    def live(self, now_ms: int) -> bool:
        # RUNNING until it finishes, so ``updatedAt`` only ever moves forward: a reader that
        # saw the run live sees a later ``updatedAt`` once it has finished.
        return now_ms < self.finished_ms

    def status(self, now_ms: int) -> str:
        return "RUNNING" if self.live(now_ms) else self.outcome

    def updated_ms(self, now_ms: int) -> int:
        if not self.live(now_ms):
            return self.finished_ms
        seen = self.events.ts[self.idx]
        return int(seen[seen <= now_ms].max(initial=self.created_ms))

    def usage(self, now_ms: int) -> dict[str, int]:
        """Token usage of the run's events up to ``now``. The agent service counts its own
        tokens at once (only the usage-events feed lags), so usage never changes without
        ``updatedAt`` moving too."""
        ev, idx = self.events, self.idx
        seen = idx[ev.ts[idx] <= now_ms]
        cols = (ev.input_tokens, ev.output_tokens, ev.cache_write_tokens, ev.cache_read_tokens)
        pairs = zip(USAGE_FIELDS, cols, strict=True)
        out = {name: int(col[seen].astype(np.int64).sum()) for name, col in pairs}
        out["totalTokens"] = sum(out.values())
        return out


@dataclass(slots=True)
class Agent:
    key: int
    id: str
    user: int
    hosting: int
    runs: list[Run] = field(default_factory=list)

    def runs_at(self, now_ms: int) -> list[Run]:
        """Runs started by ``now``, oldest first."""
        return [r for r in self.runs if r.start_ms <= now_ms]

    @property
    def draw(self) -> int:
        return mix64(self.key + 0x5EED)

    @property
    def name(self) -> str:
        d = self.draw
        return _TASKS[d % len(_TASKS)].format(w=FEATURE_WORDS[(d >> 8) % len(FEATURE_WORDS)])

    @property
    def auto_create_pr(self) -> bool:
        return (self.draw >> 16) % 10 < 6

    @property
    def archived(self) -> bool:
        return (self.draw >> 24) % 10 == 0

    def repo(self, team: SimTeam) -> str:
        repos = team_repos(team)
        return repos[(self.draw >> 32) % len(repos)]

    @property
    def branch(self) -> str:
        slug = self.name.lower().replace(" ", "-")
        return f"cursor/{slug}-{(self.draw >> 40) & 0xFFFF:04x}"


class AgentBook:
    """A team's cloud agents, one cached split per day."""

    def __init__(self, team: SimTeam, *, enabled: bool = True) -> None:
        self.team = team
        self.enabled = enabled  # off: a team that runs no cloud agents
        self._days: OrderedDict[tuple[int, int], list[Run]] = OrderedDict()
        # Agent id -> the days holding its runs, for the data version it was built from:
        # one agent's requests read its own days, not every agent of the history.
        self._index = _AgentIndex(-1)

    def day_runs(self, day: int) -> list[Run]:
        key = (self.team.data_version, day)
        found = self._days.get(key)
        if found is None:
            found = _split_runs(self.team.day(day).events)
            self._days[key] = found
            if len(self._days) > 400:
                self._days.popitem(last=False)
        return found

    def _floor(self, now_ms: int, retention: bool) -> int:
        team = self.team
        floor = team.retention_start_ms(now_ms) if retention else team.history_start_ms
        return max(floor, team.agents_start_ms)

    def agents(self, now_ms: int, *, retention: bool = True) -> list[Agent]:
        """Agents with a run started by ``now``, newest first (by creation)."""
        if not self.enabled:
            return []
        floor = self._floor(now_ms, retention)
        return self._gather(range(floor // DAY_MS, now_ms // DAY_MS + 1), floor, now_ms)

    def _gather(
        self, days: Iterable[int], floor: int, now_ms: int, key: int | None = None
    ) -> list[Agent]:
        """The agents of ``days`` (only ``key``'s when given) with runs in ``[floor, now]``."""
        by_key: dict[int, Agent] = {}
        for day in days:
            for run in self.day_runs(day):
                if key is not None and run.agent_key != key:
                    continue
                if run.start_ms > now_ms or run.start_ms < floor:
                    continue
                agent = by_key.get(run.agent_key)
                if agent is None:
                    hosting = int(run.events.hosting[run.idx[0]])
                    agent = Agent(run.agent_key, cloud_agent_id(run.agent_key), run.user, hosting)
                    by_key[run.agent_key] = agent
                agent.runs.append(run)
        agents = list(by_key.values())
        agents.sort(key=lambda a: (-a.runs[0].created_ms, a.id))
        return agents

    def find(self, agent_id: str, now_ms: int, *, retention: bool = True) -> Agent | None:
        if not self.enabled:
            return None
        floor = self._floor(now_ms, retention)
        first, last = floor // DAY_MS, now_ms // DAY_MS
        if self._index.version != self.team.data_version:
            self._index = _AgentIndex(self.team.data_version)
        index = self._index
        for day in range(first, last + 1):
            if day not in index.days:
                for run in self.day_runs(day):
                    index.add(cloud_agent_id(run.agent_key), run.agent_key, day)
                index.days.add(day)
        key, days = index.keys.get(agent_id), index.where(agent_id, first, last)
        found = self._gather(days, floor, now_ms, key) if key is not None and days else []
        return found[0] if found else None


@dataclass(slots=True)
class _AgentIndex:
    """Which days hold each agent's runs (built as days are read, for one data version)."""

    version: int
    keys: dict[str, int] = field(default_factory=dict)
    by_agent: dict[str, set[int]] = field(default_factory=dict)
    days: set[int] = field(default_factory=set)

    def add(self, agent_id: str, key: int, day: int) -> None:
        self.keys[agent_id] = key
        self.by_agent.setdefault(agent_id, set()).add(day)

    def where(self, agent_id: str, first: int, last: int) -> list[int]:
        return sorted(d for d in self.by_agent.get(agent_id, ()) if first <= d <= last)


def _split_runs(events: DayEvents) -> list[Run]:
    sel = np.flatnonzero(events.cloud_agent != 0)
    if sel.shape[0] == 0:
        return []
    keys = events.cloud_agent[sel]
    ts = events.ts[sel].astype(np.int64)
    order = np.lexsort((ts, keys))
    sel, keys, ts = sel[order], keys[order], ts[order]
    # A new run starts at every new agent and after every long pause.
    new = np.ones(sel.shape[0], dtype=np.bool_)
    new[1:] = (keys[1:] != keys[:-1]) | (ts[1:] - ts[:-1] > RUN_GAP_MS)
    bounds = [*np.flatnonzero(new).tolist(), int(sel.shape[0])]
    runs: list[Run] = []
    index_in_agent = 0
    for start, stop in itertools.pairwise(bounds):
        key = int(keys[start])
        index_in_agent = 0 if start == 0 or int(keys[start - 1]) != key else index_in_agent + 1
        # Runs of an agent that spans days get day-distinct indices.
        index = events.day * 1000 + index_in_agent
        runs.append(
            Run(
                id="run-" + uuid_from(mix64(key + index), mix64(key ^ index)),
                agent_key=key,
                index=index,
                user=int(events.user[sel[start]]),
                start_ms=int(ts[start]),
                end_ms=int(ts[stop - 1]),
                events=events,
                idx=sel[start:stop].astype(np.int64),
            )
        )
    return runs
