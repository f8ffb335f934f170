"""Tolerant models of Cursor's Enterprise read APIs: AI Code Tracking (§4), Analytics (§3)
and Cloud Agents v1/v0 (§5, §6) of cursor-api.md.

Like :mod:`.models`: unknown fields are kept, nearly everything is optional and each model
keeps the payload it was parsed from. AI Code Tracking and Cloud Agents speak camelCase;
Analytics speaks snake_case, and its rows differ by metric, so they stay plain dicts that
the mapping reads field by field (a new counter then costs nothing, a missing one is 0).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from .models import CursorModel


class _Snake(CursorModel):
    model_config = ConfigDict(alias_generator=None)


# --- AI Code Tracking: GET /analytics/ai-code/commits, /changes ---------------------------


class AiCommit(CursorModel):
    commit_hash: str | None = None
    user_id: str | None = None
    user_email: str | None = None
    repo_name: str | None = None
    branch_name: str | None = None
    is_primary_branch: bool | None = None
    commit_source: str | None = None  # ide | cli | cloud (absent before 2026)
    total_lines_added: int = 0
    total_lines_deleted: int = 0
    tab_lines_added: int = 0
    tab_lines_deleted: int = 0
    composer_lines_added: int = 0
    composer_lines_deleted: int = 0
    # Null when Cursor could not tell (a quirk): never read as 0.
    non_ai_lines_added: int | None = None
    non_ai_lines_deleted: int | None = None
    message: str | None = None
    commit_ts: str | None = None  # ISO; the original commit time
    created_at: str | None = None  # ISO; when Cursor ingested it


class AiCommitsResponse(CursorModel):
    items: list[AiCommit] = []
    total_count: int = 0
    page: int = 1
    page_size: int = 100


class ChangeFile(CursorModel):
    file_name: str | None = None  # dropped in privacy mode
    file_extension: str | None = None
    lines_added: int = 0
    lines_deleted: int = 0


class AiChange(CursorModel):
    change_id: str | None = None
    user_id: str | None = None
    user_email: str | None = None
    source: str | None = None  # TAB | COMPOSER
    model: str | None = None
    total_lines_added: int = 0
    total_lines_deleted: int = 0
    created_at: str | None = None
    metadata: list[ChangeFile] | None = None


class AiChangesResponse(CursorModel):
    items: list[AiChange] = []
    total_count: int = 0
    page: int = 1
    page_size: int = 100


# --- Analytics: GET /analytics/team/*, /analytics/by-user/* --------------------------------

Row = dict[str, Any]


class TeamMetricResponse(_Snake):
    data: list[Row] = []
    params: dict[str, Any] = {}


class ByUserPagination(CursorModel):
    page: int = 1
    page_size: int = 100
    total_users: int = 0
    total_pages: int = 0
    has_next_page: bool = False


class ByUserResponse(_Snake):
    # Keyed by email, each a list of the team endpoint's rows.
    data: dict[str, list[Row]] = {}
    pagination: ByUserPagination | None = None
    params: dict[str, Any] = {}


class InsightSlice(_Snake):
    distribution: list[Row] = []
    time_series: list[Row] = Field(default=[], alias="timeSeries")  # camelCase on the wire


class InsightsResponse(_Snake):
    # One slice per ``include`` value (``intents``, ``complexity``…), parsed when read.
    data: dict[str, Any] = {}
    params: dict[str, Any] = {}


# --- Cloud Agents v1: /v1/agents, /runs, /usage --------------------------------------------


class AgentV1(CursorModel):
    id: str
    name: str | None = None
    status: str | None = None  # ACTIVE | IDLE | ARCHIVED
    created_at: str | None = None
    updated_at: str | None = None
    latest_run_id: str | None = None


class AgentsV1Response(CursorModel):
    items: list[AgentV1] = []
    next_cursor: str | None = None  # omitted on the last page


class RunBranch(CursorModel):
    repo_url: str | None = None  # no scheme: github.com/o/r
    branch: str | None = None
    pr_url: str | None = None


class RunGit(CursorModel):
    branches: list[RunBranch] = []


class RunV1(CursorModel):
    id: str
    agent_id: str | None = None
    status: str | None = None  # CREATING | RUNNING | FINISHED | ERROR | CANCELLED | EXPIRED
    created_at: str | None = None
    updated_at: str | None = None
    duration_ms: int | None = None
    git: RunGit | None = None


class RunsV1Response(CursorModel):
    items: list[RunV1] = []
    next_cursor: str | None = None


class Tokens(CursorModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    total_tokens: int = 0


class RunUsage(CursorModel):
    id: str
    usage_uuid: str | None = None
    usage: Tokens | None = None


class AgentUsageResponse(CursorModel):
    total_usage: Tokens | None = None
    runs: list[RunUsage] = []


# --- Cloud Agents v0 (legacy): /v0/agents --------------------------------------------------


class AgentV0Source(CursorModel):
    repository: str | None = None
    ref: str | None = None


class AgentV0Target(CursorModel):
    branch_name: str | None = None
    url: str | None = None
    pr_url: str | None = None


class AgentV0(CursorModel):
    id: str
    name: str | None = None
    status: str | None = None  # CREATING | RUNNING | FINISHED | ERROR | EXPIRED
    source: AgentV0Source | None = None
    target: AgentV0Target | None = None
    created_at: str | None = None


class AgentsV0Response(CursorModel):
    agents: list[AgentV0] = []
    next_cursor: str | None = None
