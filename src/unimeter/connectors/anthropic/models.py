"""Typed, tolerant models of Anthropic Admin API payloads (anthropic-api.md §2-§6).

Anthropic adds fields and enum values over time (roles, statuses, tool names, service
tiers), so these models bend rather than break: unknown fields are kept
(``extra="allow"``), enums are open strings, optional and recent fields default, and each
model keeps the dict it was parsed from in :attr:`AnthropicModel.raw` (the facts' sources
and the records' ``raw`` are the vendor's payload, verbatim). Wire names are snake_case, so
no aliases are needed.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    model_validator,
)

# Cents as sent: the docs show integers, the reference types the field ``number``, and the
# cost report sends decimal strings. The mapping turns each into exact cents x 10**6.
Amount = int | float | str


class AnthropicModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The payload this model was parsed from: unknown fields and exact values."""
        if self._raw is not None:
            return self._raw
        return self.model_dump(exclude_unset=True)


# --- paging envelopes -------------------------------------------------------------------


class IdPage(AnthropicModel):
    data: list[dict[str, Any]]
    has_more: bool = False
    first_id: str | None = None
    last_id: str | None = None


class TokenPage(AnthropicModel):
    data: list[dict[str, Any]]
    has_more: bool = False
    next_page: str | None = None  # absent or null at the end


# --- roster -----------------------------------------------------------------------------


class Organization(AnthropicModel):
    id: str
    name: str | None = None


class User(AnthropicModel):
    id: str
    email: str
    name: str | None = None
    role: str | None = None  # open: Console and Enterprise orgs have different sets
    added_at: str | None = None


class Workspace(AnthropicModel):
    id: str
    name: str | None = None
    created_at: str | None = None
    archived_at: str | None = None
    display_color: str | None = None


class WorkspaceMember(AnthropicModel):
    user_id: str
    workspace_id: str | None = None
    workspace_role: str | None = None


class CreatedBy(AnthropicModel):
    id: str | None = None
    type: str | None = None


class ApiKey(AnthropicModel):
    id: str
    name: str | None = None
    workspace_id: str | None = None
    created_at: str | None = None
    created_by: CreatedBy | None = None
    status: str | None = None


# --- Claude Code analytics (§5) ---------------------------------------------------------


class Actor(AnthropicModel):
    type: str
    email_address: str | None = None
    api_key_name: str | None = None


class LinesOfCode(AnthropicModel):
    added: int = 0
    removed: int = 0


class CoreMetrics(AnthropicModel):
    num_sessions: int = 0
    lines_of_code: LinesOfCode = Field(default_factory=LinesOfCode)
    commits_by_claude_code: int = 0
    pull_requests_by_claude_code: int = 0


class ToolAction(AnthropicModel):
    accepted: int = 0
    rejected: int = 0


class Tokens(AnthropicModel):
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_creation: int = 0


class EstimatedCost(AnthropicModel):
    currency: str = "USD"
    amount: Amount = 0


class ModelUsage(AnthropicModel):
    model: str
    tokens: Tokens = Field(default_factory=Tokens)
    estimated_cost: EstimatedCost | None = None


class ClaudeCodeRow(AnthropicModel):
    date: str  # RFC 3339 midnight UTC, or YYYY-MM-DD in older answers
    actor: Actor
    organization_id: str | None = None
    customer_type: str | None = None
    subscription_type: str | None = None
    terminal_type: str | None = None
    is_remote: bool | None = None  # recent: absent means a local session
    core_metrics: CoreMetrics = Field(default_factory=CoreMetrics)
    tool_actions: dict[str, ToolAction] = Field(default_factory=dict)
    model_breakdown: list[ModelUsage] = Field(default_factory=list)


# --- Usage & Cost (§6) ------------------------------------------------------------------


class CacheCreation(AnthropicModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class MessagesResult(AnthropicModel):
    uncached_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: CacheCreation = Field(default_factory=CacheCreation)
    output_tokens: int = 0
    model: str | None = None
    workspace_id: str | None = None
    api_key_id: str | None = None
    account_id: str | None = None
    service_account_id: str | None = None


class CostItem(AnthropicModel):
    amount: Amount
    currency: str = "USD"
    workspace_id: str | None = None
    description: str | None = None
    cost_type: str | None = None
    model: str | None = None
    token_type: str | None = None


class Bucket(AnthropicModel):
    starting_at: str
    ending_at: str | None = None
    results: list[dict[str, Any]] = Field(default_factory=list)
