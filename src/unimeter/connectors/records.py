"""Vendor-neutral records that connectors produce and the store persists.

Connectors translate vendor payloads into these; nothing downstream sees a vendor field
name, except inside ``raw`` (kept verbatim for passthrough and exports).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Raw = dict[str, Any]


@dataclass(slots=True)
class MemberRecord:
    remote_id: str
    email: str
    name: str | None
    role: str | None
    is_removed: bool
    numeric_id: int | None = None
    raw: Raw = field(default_factory=dict)
    # When the person joined the workspace, if the vendor says (epoch ms).
    joined_at_ms: int | None = None


@dataclass(slots=True)
class DailyUsageRecord:
    day: dt.date
    user_key: str  # the vendor's stable per-user key for the row (numeric id, else email)
    email: str
    numeric_user_id: int | None
    is_active: bool
    lines_added: int
    lines_deleted: int
    accepted_lines_added: int
    accepted_lines_deleted: int
    applies: int
    accepts: int
    rejects: int
    tabs_shown: int
    tabs_accepted: int
    composer_requests: int
    chat_requests: int
    agent_requests: int
    cmdk_requests: int
    included_requests: int
    usage_based_requests: int
    api_key_requests: int
    bugbot_requests: int
    most_used_model: str | None
    apply_extension: str | None
    tab_extension: str | None
    client_version: str | None
    raw: Raw = field(default_factory=dict)

    def values(self) -> tuple[object, ...]:
        """Everything that can change between two reads of the same row."""
        return (
            self.email, self.numeric_user_id, self.is_active, self.lines_added, self.lines_deleted,
            self.accepted_lines_added, self.accepted_lines_deleted, self.applies, self.accepts,
            self.rejects, self.tabs_shown, self.tabs_accepted, self.composer_requests,
            self.chat_requests, self.agent_requests, self.cmdk_requests, self.included_requests,
            self.usage_based_requests, self.api_key_requests, self.bugbot_requests,
            self.most_used_model, self.apply_extension, self.tab_extension, self.client_version,
        )  # fmt: skip


@dataclass(slots=True)
class UsageEventRecord:
    fingerprint: str
    timestamp_ms: int
    # The product the event is usage of (one of the connector's ``products``): the detail
    # usage facts derived from events are keyed by it.
    product: str
    email: str  # as received; empty when the vendor no longer knows it
    model: str
    kind: str
    # included | usage_based | api_key | errored: how the event was billed.
    charge_type: str
    # ide | cli | cloud_agent | automation | service_account: where it came from.
    surface: str
    max_mode: bool
    is_token_based: bool
    is_chargeable: bool
    is_headless: bool
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    token_cents_e6: int | None
    token_fee_cents_e6: int | None
    charged_cents_e6: int
    request_units_e6: int
    conversation_id: str | None
    cloud_agent_id: str | None
    service_account_id: str | None
    automation_id: str | None
    raw: Raw = field(default_factory=dict)

    def costs(self) -> tuple[int | None, int | None, int, int]:
        return (
            self.token_cents_e6,
            self.token_fee_cents_e6,
            self.charged_cents_e6,
            self.request_units_e6,
        )


@dataclass(slots=True)
class SpendMemberRecord:
    remote_id: str | None
    email: str
    name: str | None
    role: str | None
    on_demand_cents_e6: int
    overall_cents_e6: int
    premium_requests: int
    hard_limit_override_dollars: int | None
    monthly_limit_dollars: int | None
    effective_limit_dollars: int | None
    raw: Raw = field(default_factory=dict)


@dataclass(slots=True)
class SpendSnapshotRecord:
    cycle_start_ms: int | None
    total_members: int
    members: list[SpendMemberRecord]
    meta: Raw = field(default_factory=dict)


# ``ActorRecord.kind`` values: usage no person is known for is attributed to one of these.
ACTOR_KINDS = frozenset({"api_key", "service_account", "agent"})


@dataclass(slots=True)
class ActorRecord:
    """A non-person actor usage is attributed to (an API key, a service account), so its
    usage facts can be labelled: ``UsageFactRecord.actor`` holds its ``remote_id``."""

    remote_id: str
    kind: str  # one of :data:`ACTOR_KINDS`
    name: str | None
    status: str | None  # the vendor's own word (active, archived, …), kept as it is
    # The workspace (or project) it belongs to, as the vendor names it; None when the
    # vendor's default one.
    workspace_id: str | None = None
    created_at_ms: int | None = None
    # The member who created it, if the vendor says (their remote id).
    created_by: str | None = None
    raw: Raw = field(default_factory=dict)


# ``GroupRecord.type`` of the group that holds members assigned to no group.
UNASSIGNED_GROUP_TYPE = "unassigned"


@dataclass(slots=True)
class GroupRecord:
    remote_id: str
    name: str
    type: str | None
    directory_group_id: str | None
    remote_created_at: int | None
    remote_updated_at: int | None
    raw: Raw = field(default_factory=dict)


@dataclass(slots=True)
class GroupMembershipRecord:
    group_remote_id: str
    member_remote_id: str
    email: str | None
    name: str | None
    joined_at: int
    left_at: int | None


@dataclass(slots=True)
class GroupDailySpendRecord:
    group_remote_id: str
    day: dt.date
    spend_cents_e6: int


@dataclass(slots=True)
class GroupsRecord:
    """One read of the billing groups for one billing cycle."""

    groups: list[GroupRecord]
    memberships: list[GroupMembershipRecord]
    daily_spend: list[GroupDailySpendRecord]


# Neutral audit actions a connector maps its vendor's event types onto (the vendor's own
# type is kept in ``event_type``). Attribution reads removal times from MEMBER_REMOVED.
MEMBER_REMOVED = "member_removed"


@dataclass(slots=True)
class AuditEventRecord:
    remote_id: str
    timestamp_ms: int
    event_type: str  # the vendor's own name for it, kept as it is
    user_email: str | None  # who acted
    ip_address: str | None
    application_type: str | None
    event_data: Raw
    raw: Raw = field(default_factory=dict)
    # The neutral action (:data:`MEMBER_REMOVED`, …), or None when nothing reads it.
    action: str | None = None
    # The member the action was done to (the one removed), normalised like emails elsewhere.
    subject_email: str | None = None


# -- what AI wrote, and what agents ran (a vendor's code tracking and agents APIs) --------


@dataclass(slots=True)
class CommitRecord:
    """One commit and how its lines were written: by AI completions, by an AI agent, or by
    hand. ``key`` is the connector's stable identity for the record: a vendor may list one
    commit hash twice (an amended or twice-pushed commit), and both are kept."""

    key: str
    commit_id: str  # the hash, as the vendor gives it
    user_email: str
    repository: str | None
    branch: str | None
    is_primary_branch: bool | None  # None: the vendor does not know
    surface: str  # where it was committed from: ide | cli | cloud_agent | …
    committed_at_ms: int
    lines_added: int
    lines_deleted: int
    completion_lines_added: int  # accepted inline completions ("Tab")
    completion_lines_deleted: int
    agent_lines_added: int  # accepted agent edits
    agent_lines_deleted: int
    # Lines written by hand; None when the vendor does not say (never assumed 0).
    human_lines_added: int | None
    human_lines_deleted: int | None
    raw: Raw = field(default_factory=dict)


# ``AiChangeRecord.source`` values.
CHANGE_SOURCES = frozenset({"completion", "agent"})


@dataclass(slots=True)
class AiChangeRecord:
    """One accepted AI change (a completion or an agent edit) before it was committed."""

    key: str
    user_email: str
    source: str  # one of CHANGE_SOURCES
    model: str | None
    created_at_ms: int
    lines_added: int
    lines_deleted: int
    file_extensions: list[str] = field(default_factory=list)
    raw: Raw = field(default_factory=dict)


# ``AgentRunRecord.status`` values: a vendor's own word goes in ``raw``.
RUN_STATUSES = frozenset({"creating", "running", "finished", "error", "cancelled", "expired"})


@dataclass(slots=True)
class AgentRunRecord:
    """One run of a cloud agent (a prompt it worked on), with what it produced and used."""

    key: str  # the run's id (or the agent's, for a vendor without runs)
    agent_id: str
    user_email: str | None  # who launched it, when the vendor says
    name: str | None
    status: str  # one of RUN_STATUSES
    repository: str | None
    branch: str | None
    pull_request_url: str | None
    created_at_ms: int
    duration_ms: int | None
    # Tokens and money of the run; None when the vendor does not say.
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_cents_e6: int | None = None
    raw: Raw = field(default_factory=dict)


@dataclass(slots=True)
class ActivityCountRecord:
    """A count a vendor's analytics report per day, for the team (``user_email`` empty) or
    one person: ``kind`` names what is counted, ``key`` which one. Aggregates only: never a
    conversation's content.

    Kinds (neutral; a connector maps its vendor's onto them): ``active_users`` (key: ``all``
    or a surface: ``cli``, ``cloud_agent``, ``review``), ``model_messages`` (key: model),
    ``mcp_tool`` (key: ``server/tool``), ``command``, ``skill``, ``plan_mode`` (key:
    model), ``ask_mode`` (key: model), ``client_version``, ``file_extension``, and the
    conversation insights ``intent``, ``work_type``, ``complexity``, ``category``,
    ``guidance_level``.
    """

    day: dt.date
    kind: str
    key: str
    value: int
    user_email: str = ""
