"""The Unified Usage Metering resources: Users, and Usage as per-period records.

Every field is optional in the schema: ``exclude_fields[]`` can drop any of them, and a row
fills only the metric groups its grain can know (activity is per user-day, not per model).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Granularity = Literal["day", "week", "month", "total"]
Dimension = Literal["user", "model", "surface"]
ResponseFormat = Literal["unified", "raw"]
Mode = Literal["stored", "live"]
UserStatus = Literal["active", "inactive", "deleted", "invited"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Ref(_Open):
    id: str | None = None
    name: str | None = None


class UserRef(_Open):
    id: str | None = None
    email: str | None = None
    name: str | None = None


class ModelRef(_Open):
    id: str | None = None
    provider: str | None = Field(
        None, description="anthropic, openai, google, xai, cursor, unknown"
    )


# Usage groups. Field names are neutral; a vendor may publish some under the names its own
# product uses (declared by its connector's fact profile), and hides what it does not report:
# a group or field a vendor does not report is absent, never zero.


class Requests(_Open):
    total: int | None = None
    included: int | None = Field(None, description="Inside the plan")
    usage_based: int | None = Field(None, description="Billed beyond the plan")
    api_key: int | None = Field(None, description="On the customer's own API key")
    errored: int | None = None
    premium: int | None = Field(None, description="On a premium (costlier) mode")
    chat: int | None = None
    agent: int | None = None
    edit: int | None = Field(None, description="Multi-file edits")
    inline_edit: int | None = None
    review: int | None = Field(None, description="Code reviews")
    completions_shown: int | None = None
    completions_accepted: int | None = None


class Activity(_Open):
    is_active: bool | None = None
    client_version: str | None = None
    premium: bool | None = Field(None, description="Used a premium mode that day")


class Code(_Open):
    lines_added: int | None = None
    lines_removed: int | None = None
    accepted_lines_added: int | None = None
    accepted_lines_removed: int | None = None
    applies: int | None = None
    accepts: int | None = None
    rejects: int | None = None
    tool_actions_accepted: int | None = None
    tool_actions_rejected: int | None = None


class Work(_Open):
    sessions: int | None = None
    commits: int | None = None
    pull_requests: int | None = None


class Committed(_Open):
    """What the person committed in the period (docs/metrics.md)."""

    commits: int | None = None
    lines_added: int | None = None
    tab_lines_added: int | None = Field(None, description="By accepted AI inline completions")
    agent_lines_added: int | None = Field(None, description="By accepted AI agent edits")
    human_lines_added: int | None = Field(
        None, description="By hand, over the commits that report it; null: none does"
    )


class Agents(_Open):
    runs: int | None = Field(None, description="Cloud-agent runs launched in the period")


class Tokens(_Open):
    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    total: int | None = None


class UsageMetrics(_Open):
    requests: Requests | None = None
    activity: Activity | None = None
    code: Code | None = None
    work: Work | None = None
    tokens: Tokens | None = None
    committed: Committed | None = Field(
        None, description="When the vendor tracks commits; absent when split by model"
    )
    agents: Agents | None = Field(
        None, description="When the vendor reports agent runs; absent when split by model"
    )


class Charge(_Open):
    type: str | None = Field(None, description="total, included or usage_based")
    amount: str | None = Field(None, description="Exact decimal, in currency units (not cents)")
    currency: str | None = None
    is_estimate: bool | None = Field(
        None, description="The vendor's estimate (Claude Code's, say), not what it bills"
    )


class UnifiedUsage(_Open):
    id: str | None = Field(None, description="Stable; derived from the row's grain key")
    product: Ref | None = None
    organization: Ref | None = None
    user: UserRef | None = None
    model: ModelRef | None = None
    surface: str | None = Field(
        None, description="ide, cli, cloud_agent, automation, service_account"
    )
    start_date: dt.datetime | None = Field(None, description="Period start, inclusive")
    end_date: dt.datetime | None = Field(None, description="Period end, exclusive")
    usage: UsageMetrics | None = None
    charges: list[Charge] | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    remote_data: Any | None = None


class Email(_Open):
    email: str | None = None
    is_primary: bool | None = None


class SpendLimit(_Open):
    amount: int | None = Field(None, description="In the smallest currency unit (cents)")
    currency: str | None = None


class UnifiedUser(_Open):
    id: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    emails: list[Email] | None = None
    roles: list[Ref] | None = None
    status: str | None = Field(None, description="active, inactive, deleted or invited")
    organization: Ref | None = None
    spend_limit: SpendLimit | None = None
    last_active_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    remote_data: Any | None = None


class UsageList(_Open):
    result: list[UnifiedUsage]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    result_count: int


class UserList(_Open):
    result: list[UnifiedUser]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    result_count: int
