"""Cloud agent runs (cursor-api.md §5 and §6) → :class:`AgentRunRecord`.

v1 has durable agents with one run per prompt: one record per run, its tokens from the
agent's usage endpoint. Where v1 answers 404 the legacy v0 list is read instead: one record
per agent (v0 has no runs), keyed by the agent's id, without tokens.

The agent list has no date filter (newest first, cursor paged), so it is read once per
sync run and kept; each window then reads the runs and usage of the agents it touches
(created before its end, active since its start), each agent once per run. An old agent
with a new follow-up run is touched again through its ``updatedAt``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from urllib.parse import quote

from unimeter.connectors.errors import SourceUnavailableError
from unimeter.connectors.records import RUN_STATUSES, AgentRunRecord
from unimeter.connectors.source import Record, Window

from .client import CursorClient
from .code_mapping import iso_ms
from .enterprise_models import (
    AgentsV0Response,
    AgentsV1Response,
    AgentUsageResponse,
    AgentV0,
    AgentV1,
    RunsV1Response,
    RunV1,
    Tokens,
)
from .errors import CursorNotFoundError
from .gates import CLOUD_AGENTS, FamilyGates

log = logging.getLogger("unimeter.cursor")

LIST_LIMIT = 100  # Cursor's maximum
# Words some clients and older API versions use, onto RUN_STATUSES.
_STATUS_ALIASES = {
    "stopped": "cancelled",
    "canceled": "cancelled",
    "failed": "error",
    "pending": "creating",
    "queued": "creating",
}


def run_status(value: str | None) -> str:
    word = (value or "").strip().lower()
    word = _STATUS_ALIASES.get(word, word)
    if word in RUN_STATUSES:
        return word
    # A status Cursor adds later: not known to have finished well (the raw keeps the word).
    log.warning("cursor: unknown agent run status %r recorded as error", value)
    return "error"


def _email(*payloads: dict[str, object]) -> str | None:
    """The launching member's email when the API says (v1 documents none today)."""
    for payload in payloads:
        for name in ("userEmail", "createdByEmail", "creatorEmail"):
            value = payload.get(name)
            if isinstance(value, str) and "@" in value:
                return value.strip().lower()
    return None


def run_record(agent: AgentV1, run: RunV1, tokens: Tokens | None) -> AgentRunRecord | None:
    created = iso_ms(run.created_at)
    if created is None:
        log.warning("cursor: an agent run without a creation time was skipped")
        return None
    branches = run.git.branches if run.git is not None else []
    first = branches[0] if branches else None
    pr_url = next((b.pr_url for b in branches if b.pr_url), None)
    return AgentRunRecord(
        key=run.id,
        agent_id=agent.id,
        user_email=_email(run.raw, agent.raw),
        name=agent.name,
        status=run_status(run.status),
        repository=first.repo_url if first else None,
        branch=first.branch if first else None,
        pull_request_url=pr_url,
        created_at_ms=created,
        duration_ms=run.duration_ms,
        input_tokens=tokens.input_tokens if tokens else None,
        output_tokens=tokens.output_tokens if tokens else None,
        cache_read_tokens=tokens.cache_read_tokens if tokens else None,
        cache_write_tokens=tokens.cache_write_tokens if tokens else None,
        raw={"agent": agent.raw, "run": run.raw},
    )


def v0_record(agent: AgentV0) -> AgentRunRecord | None:
    created = iso_ms(agent.created_at)
    if created is None:
        log.warning("cursor: a v0 agent without a creation time was skipped")
        return None
    source, target = agent.source, agent.target
    return AgentRunRecord(
        key=agent.id,
        agent_id=agent.id,
        user_email=_email(agent.raw),
        name=agent.name,
        status=run_status(agent.status),
        repository=source.repository if source else None,
        branch=target.branch_name if target else None,
        pull_request_url=target.pr_url if target else None,
        created_at_ms=created,
        duration_ms=None,
        raw=agent.raw,
    )


class AgentRunsReader:
    """The ``agent_runs`` stream of one source: the listing and the agents read are kept
    for the run, so later windows cost only the agents they add."""

    def __init__(self, gates: FamilyGates) -> None:
        self._gates = gates
        self._v1: list[AgentV1] | None = None
        self._v0: list[AgentV0] | None = None
        self._done: set[str] = set()
        # Agent id -> its change mark when its runs were last stored (kept by the engine
        # between runs): an agent unchanged since is not read again (its runs and their
        # usage are what the store holds), which keeps an hourly run to the agents that
        # moved.
        self._stored: dict[str, str] = {}

    def restore(self, memory: dict[str, Any]) -> None:
        agents = memory.get("agents")
        if isinstance(agents, dict):
            self._stored = {k: v for k, v in agents.items() if isinstance(v, str)}

    def memory(self) -> dict[str, Any]:
        """The agents this run stored or found unchanged; the others fall out (an agent
        outside every window read is not asked for anyway)."""
        kept = {k: v for k, v in self._stored.items() if k in self._done}
        return {"agents": kept} if kept else {}

    async def fetch(self, client: CursorClient, window: Window) -> AsyncIterator[list[Record]]:
        if self._v1 is None and self._v0 is None:
            self._v1 = await self._list_v1(client)
            if self._v1 is None:
                self._v0 = await self._list_v0(client)
        if self._v1 is not None:
            for agent in self._v1:
                if agent.id in self._done or not _touches(agent, window):
                    continue
                mark = change_mark(agent)
                if mark is not None and self._stored.get(agent.id) == mark:
                    self._done.add(agent.id)
                    continue
                records = await self._agent_runs(client, agent)
                self._done.add(agent.id)
                if records:
                    yield records
                # Only now (the engine took the batch) does the store hold these runs.
                if mark is not None:
                    self._stored[agent.id] = mark
            return
        # v0: every agent once per run (no runs, no update times to choose by).
        fresh = [a for a in self._v0 or [] if a.id not in self._done]
        self._done.update(a.id for a in fresh)
        batch: list[Record] = [r for r in map(v0_record, fresh) if r is not None]
        if batch:
            yield batch

    async def _list_v1(self, client: CursorClient) -> list[AgentV1] | None:
        """Every agent, archived ones included; None when v1 is not there (404)."""
        agents: list[AgentV1] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": LIST_LIMIT, "includeArchived": "true"}
            if cursor:
                params["cursor"] = cursor

            async def page(params: dict[str, str | int] = params) -> AgentsV1Response | None:
                try:
                    return await client.get(AgentsV1Response, "/v1/agents", params=params)
                except CursorNotFoundError:
                    return None

            response = await self._gates.call(CLOUD_AGENTS, page)
            if response is None:
                if agents:  # v1 vanished mid-listing: not a plan without v1
                    raise SourceUnavailableError("Cursor /v1/agents answered 404 mid-listing")
                log.info("cursor: /v1/agents answered 404; reading the v0 agents")
                return None
            agents.extend(response.items)
            cursor = response.next_cursor
            if not cursor or not response.items:
                return agents

    async def _list_v0(self, client: CursorClient) -> list[AgentV0]:
        agents: list[AgentV0] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": LIST_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = await self._gates.call(
                CLOUD_AGENTS, partial(client.get, AgentsV0Response, "/v0/agents", params=params)
            )
            agents.extend(response.agents)
            cursor = response.next_cursor
            if not cursor or not response.agents:
                return agents

    async def _agent_runs(self, client: CursorClient, agent: AgentV1) -> list[Record]:
        base = f"/v1/agents/{quote(agent.id, safe='')}"
        runs: list[RunV1] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": LIST_LIMIT}
            if cursor:
                params["cursor"] = cursor
            response = await self._gates.call(
                CLOUD_AGENTS, partial(client.get, RunsV1Response, f"{base}/runs", params=params)
            )
            runs.extend(response.items)
            cursor = response.next_cursor
            if not cursor or not response.items:
                break
        usage = await self._gates.call(
            CLOUD_AGENTS, lambda: client.get(AgentUsageResponse, f"{base}/usage")
        )
        tokens = {u.id: u.usage or Tokens() for u in usage.runs}
        records = (run_record(agent, run, tokens.get(run.id)) for run in runs)
        return [r for r in records if r is not None]


def change_mark(agent: AgentV1) -> str | None:
    """What the listing says about an agent's runs, to compare with the mark kept when they
    were stored; None when it cannot say (the agent is read).

    ``updatedAt`` moves with every change. The reference says list items carry "only the
    identity fields", so it may be missing: then an idle or archived agent whose latest run
    is the one stored has nothing new (one run at a time, and a follow-up is a new run),
    while an active one is read every time."""
    if agent.updated_at:
        return f"updated:{agent.updated_at}"
    status = (agent.status or "").strip().upper()
    if agent.latest_run_id and status in {"IDLE", "ARCHIVED"}:
        return f"latest:{agent.latest_run_id}:{status}"
    return None


def _touches(agent: AgentV1, window: Window) -> bool:
    """Whether the agent may have runs the window should (re)write: created before its end
    and active at or after its start. Without times it is read (once per run)."""
    created = iso_ms(agent.created_at)
    updated = iso_ms(agent.updated_at) or created
    if created is None or updated is None:
        return True
    return created <= window.end_ms and max(created, updated) >= window.start_ms
