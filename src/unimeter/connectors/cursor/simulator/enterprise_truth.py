"""Ground truth of the Enterprise APIs (AI Code Tracking, Analytics, Cloud Agents).

Mixed into :class:`~.truth.TeamTruth`. Each method returns what the endpoint serves, built by
the same code, over whole ranges (no paging) and, unless ``retention`` is set, including data
the API no longer serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .agents import Agent
from .agents_api import agent_body, run_body, usage_body
from .aicode import CodeQuery, change_item, commit_item
from .analytics import by_user_metric, leaderboard, team_metric
from .insights import insights

if TYPE_CHECKING:
    from .team import SimTeam
    from .world import TeamServices


class EnterpriseTruth:
    _svc: TeamServices
    team: SimTeam

    @property
    def now_ms(self) -> int:
        return self.team.now_ms()

    def commits(
        self, start_ms: int, end_ms: int, *, user: int | None = None, retention: bool = False
    ) -> list[dict[str, Any]]:
        """AI Code Tracking commits with ``commitTs`` in ``[start, end]`` (inclusive), as
        served (newest first, repeated hashes included); ``user`` is a member index."""
        q = CodeQuery(start_ms, end_ms, user)
        found = self._svc.aicode.commits(q, self.now_ms, retention=retention)
        return [commit_item(self.team, c) for c in found]

    def changes(
        self, start_ms: int, end_ms: int, *, user: int | None = None, retention: bool = False
    ) -> list[dict[str, Any]]:
        """AI Code Tracking changes with ``createdAt`` in ``[start, end]``, newest first."""
        q = CodeQuery(start_ms, end_ms, user)
        found = self._svc.aicode.changes(q, self.now_ms, retention=retention)
        return [change_item(self.team, code, i) for code, i in found]

    def analytics(
        self, metric: str, start: str, end: str, *, users: list[str] | None = None
    ) -> dict[str, Any]:
        """The body of ``GET /analytics/team/{metric}`` (``leaderboard`` included, with every
        user on one page); ``start``/``end`` and ``users`` take the API's query formats."""
        params = _params(start, end, users)
        if metric == "leaderboard":
            return leaderboard(self._svc.analytics, {**params, "pageSize": "500"})
        return team_metric(self._svc.analytics, metric, params)

    def by_user(
        self, metric: str, start: str, end: str, *, users: list[str] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """``data`` of ``GET /analytics/by-user/{metric}`` over every page: rows by email."""
        out: dict[str, list[dict[str, Any]]] = {}
        page = 1
        while True:
            params = {**_params(start, end, users), "page": str(page), "pageSize": "500"}
            body = by_user_metric(self._svc.analytics, metric, params)
            out.update(body["data"])
            if not body["pagination"]["hasNextPage"]:
                return out
            page += 1

    def conversation_insights(
        self, start: str, end: str, include: list[str], *, users: list[str] | None = None
    ) -> dict[str, Any]:
        return insights(self._svc.analytics, _params(start, end, users), include)

    def agents(self, *, retention: bool = False) -> list[dict[str, Any]]:
        """Every cloud agent (archived ones included), newest first, in the full v1 shape."""
        now = self.now_ms
        book = self._svc.agents
        return [agent_body(self.team, a, now) for a in book.agents(now, retention=retention)]

    def runs(self, agent_id: str) -> list[dict[str, Any]]:
        """The agent's runs, newest first, as ``GET /v1/agents/{id}/runs/{runId}`` serves them."""
        now = self.now_ms
        agent = self._agent(agent_id)
        return [run_body(self.team, agent, r, now) for r in reversed(agent.runs_at(now))]

    def run_usage(self, agent_id: str) -> dict[str, Any]:
        """``GET /v1/agents/{id}/usage``: per-run token usage and the total."""
        agent = self._agent(agent_id)
        return usage_body(agent, agent.runs_at(self.now_ms), self.now_ms)

    def _agent(self, agent_id: str) -> Agent:
        found = self._svc.agents.find(agent_id, self.now_ms, retention=False)
        if found is None:
            raise KeyError(agent_id)
        return found


def _params(start: str, end: str, users: list[str] | None) -> dict[str, str]:
    params = {"startDate": start, "endDate": end}
    if users:
        params["users"] = ",".join(users)
    return params
