"""Typed, tolerant models of Cursor Admin API responses (cursor-api.md §2).

Cursor adds fields often and has changed meanings before, so these models bend rather than
break: unknown fields are kept (``extra="allow"``), nearly every field is optional, and each
model keeps the exact dict it was parsed from in :attr:`CursorModel.raw` for storage or
replay. Attributes are snake_case; the wire names (camelCase, except the audit log's
snake_case) are aliases, and either spelling is accepted when building a model.

Types follow the wire: ids are ``int | str`` (the docs disagree between numeric and
``user_…``), usage ``timestamp`` is the string of epoch-ms digits Cursor sends, and cents
are ``float`` because Cursor reports fractional cents.
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
from pydantic.alias_generators import to_camel

Id = int | str


class CursorModel(BaseModel):
    model_config = ConfigDict(
        extra="allow", populate_by_name=True, alias_generator=to_camel, frozen=True
    )

    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        # Keyword arguments are not a payload (they may use attribute names): ``raw`` is
        # then rebuilt from the fields.
        self._raw = None

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, dict):
            model._raw = data
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The payload this model was parsed from: wire names, unknown fields, exact values."""
        if self._raw is not None:
            return self._raw
        return self.model_dump(by_alias=True, exclude_unset=True)

    def __eq__(self, other: object) -> bool:
        # Pydantic also compares private attributes; two models with the same data are equal
        # whether they were parsed (and hold a payload) or built.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )


class _SnakeModel(CursorModel):
    # The audit log is the one Admin API family that speaks snake_case on the wire.
    model_config = ConfigDict(alias_generator=None)


# --- GET /teams/members ----------------------------------------------------------------


class Member(CursorModel):
    id: Id | None = None
    name: str | None = None
    email: str | None = None
    role: str | None = None  # owner, member, free-owner; kept open
    is_removed: bool = False


class MembersResponse(CursorModel):
    team_members: list[Member]


# --- POST /teams/daily-usage-data -------------------------------------------------------


class Period(CursorModel):
    start_date: int | None = None
    end_date: int | None = None


class DailyUsageRow(CursorModel):
    user_id: Id | None = None
    day: str | None = None  # YYYY-MM-DD
    date: int | None = None  # the same day as epoch ms
    email: str | None = None
    # Only present when paginating; absent means "active" (only active rows are returned).
    is_active: bool | None = None
    total_lines_added: int = 0
    total_lines_deleted: int = 0
    accepted_lines_added: int = 0
    accepted_lines_deleted: int = 0
    total_applies: int = 0
    total_accepts: int = 0
    total_rejects: int = 0
    total_tabs_shown: int = 0
    total_tabs_accepted: int = 0
    composer_requests: int = 0
    chat_requests: int = 0
    agent_requests: int = 0
    cmdk_usages: int = 0
    subscription_included_reqs: int = 0
    api_key_reqs: int = 0
    usage_based_reqs: int = 0
    bugbot_usages: int = 0
    most_used_model: str | None = None
    apply_most_used_extension: str | None = None
    tab_most_used_extension: str | None = None
    client_version: str | None = None


class DailyUsagePagination(CursorModel):
    page: int = 1
    page_size: int = 0
    total_users: int = 0
    total_pages: int = 0
    has_next_page: bool = False
    has_previous_page: bool = False


class DailyUsageResponse(CursorModel):
    data: list[DailyUsageRow]
    period: Period | None = None
    # Present only when the request carried both page and pageSize.
    pagination: DailyUsagePagination | None = None


# --- POST /teams/spend ------------------------------------------------------------------


class SpendMember(CursorModel):
    user_id: Id | None = None
    name: str | None = None
    email: str | None = None
    role: str | None = None
    # On-demand spend this cycle (its meaning changed in 2026: it once was the total).
    spend_cents: float = 0.0
    # Total spend this cycle; ``None`` from API versions that predate the field.
    overall_spend_cents: float | None = None
    fast_premium_requests: int = 0
    hard_limit_override_dollars: float = 0
    monthly_limit_dollars: float | None = None
    effective_per_user_limit_dollars: float | None = None


class SpendResponse(CursorModel):
    team_member_spend: list[SpendMember]
    subscription_cycle_start: int | None = None
    total_members: int = 0
    total_pages: int = 0


# --- POST /teams/filtered-usage-events --------------------------------------------------


class TokenUsage(CursorModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    total_cents: float = 0.0
    discount_percent_off: float | None = None


class UsageEvent(CursorModel):
    # Cursor sends the epoch-ms timestamp as a string; accept a number too, keep a string.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    timestamp: str
    user_email: str | None = None  # empty for members removed since
    model: str | None = None
    kind: str | None = None  # a display label; kept open
    max_mode: bool = False
    requests_costs: float = 0.0
    is_token_based_call: bool = False
    is_chargeable: bool | None = None
    is_headless: bool = False
    token_usage: TokenUsage | None = None
    # What was charged, Cursor's token fee included; ``None`` from older API versions.
    charged_cents: float | None = None
    cursor_token_fee: float | None = None
    conversation_id: str | None = None
    service_account_id: str | None = None
    service_account_name: str | None = None
    cloud_agent_id: str | None = None
    automation_id: str | None = None
    is_free_bugbot: bool | None = None

    @property
    def timestamp_ms(self) -> int:
        return int(self.timestamp)


class UsageEventsPagination(CursorModel):
    num_pages: int = 0
    current_page: int = 1
    page_size: int = 0
    has_next_page: bool = False
    has_previous_page: bool = False


class UsageEventsResponse(CursorModel):
    total_usage_events_count: int = 0
    pagination: UsageEventsPagination | None = None
    usage_events: list[UsageEvent]
    period: Period | None = None


class UsageEventsPage(CursorModel):
    """A page of usage events with the events left as decoded JSON: a backfill maps them
    with ``event_mapping`` (which falls back to :class:`UsageEvent` for odd ones)."""

    total_usage_events_count: int = 0
    pagination: UsageEventsPagination | None = None
    usage_events: list[Any]
    period: Period | None = None


# --- GET /teams/audit-logs --------------------------------------------------------------


class AuditEvent(_SnakeModel):
    event_id: str
    timestamp: str  # ISO-8601
    ip_address: str | None = None
    user_email: str | None = None
    event_type: str | None = None
    application_type: str | None = None  # cursor, grok_bot, or "" on older rows
    event_data: dict[str, Any] = Field(default_factory=dict)


class AuditLogPagination(CursorModel):
    page: int = 1
    page_size: int = 0
    total_count: int = 0
    total_pages: int = 0
    has_next_page: bool = False
    has_previous_page: bool = False


class AuditLogParams(CursorModel):
    team_id: Id | None = None
    start_date: int | None = None
    end_date: int | None = None


class AuditLogResponse(CursorModel):
    events: list[AuditEvent]
    pagination: AuditLogPagination | None = None
    params: AuditLogParams | None = None


# --- GET /teams/groups, GET /teams/groups/{id} ------------------------------------------


class DailySpend(CursorModel):
    date: str  # YYYY-MM-DD
    spend_cents: float = 0.0


class GroupMember(CursorModel):
    user_id: Id | None = None
    name: str | None = None
    email: str | None = None
    joined_at: str | None = None
    left_at: str | None = None
    spend_cents: float = 0.0
    daily_spend: list[DailySpend] = Field(default_factory=list)


class BillingGroup(CursorModel):
    id: str
    name: str | None = None
    type: str | None = None
    directory_group_id: str | None = None
    member_count: int = 0
    created_at: str | None = None
    updated_at: str | None = None
    spend_cents: float = 0.0
    current_members: list[GroupMember] = Field(default_factory=list)
    former_members: list[GroupMember] = Field(default_factory=list)
    daily_spend: list[DailySpend] = Field(default_factory=list)
    # Write endpoints answer with ``members`` instead of current and former lists.
    members: list[GroupMember] = Field(default_factory=list)


class BillingCycle(CursorModel):
    cycle_start: str | None = None
    cycle_end: str | None = None


class GroupsResponse(CursorModel):
    groups: list[BillingGroup]
    unassigned_group: BillingGroup | None = None
    billing_cycle: BillingCycle | None = None


class GroupResponse(CursorModel):
    group: BillingGroup
    billing_cycle: BillingCycle | None = None
