"""Cloud Agents read paths: v1 (agents, runs, usage, me) and legacy v0 (agents, me).

The simulator's key acts like a service-account key with a team-wide view: it lists every
member's agents, and ``/v1/me`` omits the user fields as it does for service accounts.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .agents import USAGE_FIELDS, Agent, AgentBook, Run
from .aicode import iso
from .families import cloud_error
from .team import SimTeam
from .validation import CursorHTTPError

API_KEY_NAME = "unimeter-simulator"
_V0_STATUS = {"RUNNING": "RUNNING", "FINISHED": "FINISHED", "ERROR": "ERROR", "EXPIRED": "EXPIRED"}


def _fail(status: int, code: str, message: str) -> CursorHTTPError:
    return CursorHTTPError(*cloud_error(status, code, message))


# -- shapes -----------------------------------------------------------------------------------


def _finished_runs(agent: Agent, now_ms: int) -> list[Run]:
    return [r for r in agent.runs_at(now_ms) if r.status(now_ms) == "FINISHED"]


def pr_url(team: SimTeam, agent: Agent, now_ms: int) -> str | None:
    """The PR an agent opened: once one of its runs finished, when it auto-creates PRs."""
    if not agent.auto_create_pr or not _finished_runs(agent, now_ms):
        return None
    return f"https://github.com/{agent.repo(team)}/pull/{100 + (agent.draw >> 48) % 4000}"


def _git(team: SimTeam, agent: Agent, now_ms: int) -> dict[str, Any]:
    branch: dict[str, Any] = {"repoUrl": f"github.com/{agent.repo(team)}", "branch": agent.branch}
    url = pr_url(team, agent, now_ms)
    if url is not None:
        branch["prUrl"] = url
    return {"branches": [branch]}


def agent_status(agent: Agent, now_ms: int) -> str:
    runs = agent.runs_at(now_ms)
    if runs[-1].live(now_ms):
        return "ACTIVE"
    return "ARCHIVED" if agent.archived else "IDLE"


def agent_body(team: SimTeam, agent: Agent, now_ms: int, *, full: bool = True) -> dict[str, Any]:
    runs = agent.runs_at(now_ms)
    body: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "status": agent_status(agent, now_ms),
    }
    if full:
        body.update(
            env={"type": _env_type(agent)},
            repos=[{"url": f"https://github.com/{agent.repo(team)}", "startingRef": "main"}],
            workOnCurrentBranch=False,
            autoCreatePR=agent.auto_create_pr,
            url=f"https://cursor.com/agents/{agent.id}",
        )
    body.update(
        createdAt=iso(runs[0].created_ms),
        updatedAt=iso(runs[-1].updated_ms(now_ms)),
        latestRunId=runs[-1].id,
    )
    return body


def _env_type(agent: Agent) -> str:
    return ("cloud", "machine", "pool", "machine")[max(0, agent.hosting)]


def run_body(team: SimTeam, agent: Agent, run: Run, now_ms: int) -> dict[str, Any]:
    status = run.status(now_ms)
    body: dict[str, Any] = {
        "id": run.id,
        "agentId": agent.id,
        "status": status,
        "createdAt": iso(run.created_ms),
        "updatedAt": iso(run.updated_ms(now_ms)),
    }
    if status != "RUNNING":
        body["durationMs"] = run.finished_ms - run.created_ms
    if status == "FINISHED":
        body["result"] = f"{agent.name}: done, changes pushed to {agent.branch}."
    body["git"] = _git(team, agent, now_ms)
    return body


def usage_body(agent: Agent, runs: list[Run], now_ms: int) -> dict[str, Any]:
    usages = [r.usage(now_ms) for r in runs]
    total = {name: sum(u[name] for u in usages) for name in (*USAGE_FIELDS, "totalTokens")}
    per_run = [{"id": r.id, "usage": u} for r, u in zip(runs, usages, strict=True)]
    return {"totalUsage": total, "runs": per_run}


def v0_agent_body(team: SimTeam, agent: Agent, now_ms: int) -> dict[str, Any]:
    latest = agent.runs_at(now_ms)[-1]
    # v0 knows no CANCELLED: a stopped agent reads as finished.
    status = _V0_STATUS.get(latest.status(now_ms), "FINISHED")
    target: dict[str, Any] = {
        "branchName": agent.branch,
        "url": f"https://cursor.com/agents?id={agent.id}",
        "autoCreatePr": agent.auto_create_pr,
        "openAsCursorGithubApp": False,
        "skipReviewerRequest": False,
    }
    url = pr_url(team, agent, now_ms)
    if url is not None:
        target["prUrl"] = url
    body: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "status": status,
        "source": {"repository": f"https://github.com/{agent.repo(team)}", "ref": "main"},
        "target": target,
    }
    if status == "FINISHED":
        body["summary"] = f"{agent.name}: done."
    body["createdAt"] = iso(agent.runs_at(now_ms)[0].created_ms)
    return body


# -- paging -----------------------------------------------------------------------------------


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit") or "20"
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise _fail(400, "invalid_request", "limit must be an integer between 1 and 100")
    return int(raw)


def _offset(params: dict[str, str]) -> int:
    raw = params.get("cursor")
    if not raw:
        return 0
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith("o:") or not text[2:].isdigit():
        raise _fail(400, "invalid_cursor", "The cursor is not valid")
    return int(text[2:])


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _page(items: list[Any], params: dict[str, str]) -> tuple[list[Any], str | None]:
    """A slice and the cursor of the next one (``None`` on the last page)."""
    offset, limit = _offset(params), _limit(params)
    chosen = items[offset : offset + limit]
    return chosen, _cursor(offset + limit) if offset + limit < len(items) else None


# -- handlers ---------------------------------------------------------------------------------


def _agent(book: AgentBook, agent_id: str, now_ms: int) -> Agent:
    found = book.find(agent_id, now_ms)
    if found is None:
        raise _fail(404, "agent_not_found", f"Agent {agent_id} not found")
    return found


def list_agents_v1(book: AgentBook, params: dict[str, str]) -> dict[str, Any]:
    team, now = book.team, book.team.now_ms()
    archived = (params.get("includeArchived") or "").lower() == "true"
    wanted_pr = params.get("prUrl")
    agents = [
        a
        for a in book.agents(now)
        if (archived or agent_status(a, now) != "ARCHIVED")
        and (wanted_pr is None or pr_url(team, a, now) == wanted_pr)
    ]
    chosen, cursor = _page(agents, params)
    body: dict[str, Any] = {"items": [agent_body(team, a, now, full=False) for a in chosen]}
    if cursor is not None:
        body["nextCursor"] = cursor  # omitted, not null, on the last page
    return body


def get_agent_v1(book: AgentBook, agent_id: str) -> dict[str, Any]:
    now = book.team.now_ms()
    return agent_body(book.team, _agent(book, agent_id, now), now)


def list_runs(book: AgentBook, agent_id: str, params: dict[str, str]) -> dict[str, Any]:
    now = book.team.now_ms()
    agent = _agent(book, agent_id, now)
    runs = list(reversed(agent.runs_at(now)))  # newest first
    chosen, cursor = _page(runs, params)
    body: dict[str, Any] = {"items": [run_body(book.team, agent, r, now) for r in chosen]}
    if cursor is not None:
        body["nextCursor"] = cursor
    return body


def _run(agent: Agent, run_id: str, now_ms: int) -> Run:
    found = next((r for r in agent.runs_at(now_ms) if r.id == run_id), None)
    if found is None:
        raise _fail(404, "run_not_found", f"Run {run_id} not found")
    return found


def get_run(book: AgentBook, agent_id: str, run_id: str) -> dict[str, Any]:
    now = book.team.now_ms()
    agent = _agent(book, agent_id, now)
    return run_body(book.team, agent, _run(agent, run_id, now), now)


def agent_usage(book: AgentBook, agent_id: str, params: dict[str, str]) -> dict[str, Any]:
    now = book.team.now_ms()
    agent = _agent(book, agent_id, now)
    run_id = params.get("runId")
    runs = [_run(agent, run_id, now)] if run_id else agent.runs_at(now)
    return usage_body(agent, runs, now)


def list_agents_v0(book: AgentBook, params: dict[str, str]) -> dict[str, Any]:
    team, now = book.team, book.team.now_ms()
    wanted_pr = params.get("prUrl")
    agents = [a for a in book.agents(now) if wanted_pr is None or pr_url(team, a, now) == wanted_pr]
    chosen, cursor = _page(agents, params)
    body: dict[str, Any] = {"agents": [v0_agent_body(team, a, now) for a in chosen]}
    if cursor is not None:
        body["nextCursor"] = cursor
    return body


def get_agent_v0(book: AgentBook, agent_id: str) -> dict[str, Any]:
    now = book.team.now_ms()
    return v0_agent_body(book.team, _agent(book, agent_id, now), now)


def me_v1(team: SimTeam) -> dict[str, Any]:
    return {"apiKeyName": API_KEY_NAME, "createdAt": iso(team.roster.created_ms)}


def me_v0(team: SimTeam) -> dict[str, Any]:
    owner = team.members[0]
    return {
        "apiKeyName": API_KEY_NAME,
        "createdAt": iso(team.roster.created_ms),
        "userEmail": owner.email,
    }
