"""Anthropic payloads → vendor-neutral records and usage facts.

Three reports feed facts:

- Claude Code analytics (product ``claude_code``): per actor and day, several rows (one per
  terminal and remote/local session, §5.3). A day total per actor holds the work counters
  (sessions, lines, commits, pull requests, tool actions) and detail facts per (model,
  surface) hold tokens and the *estimated* cost.
- Messages usage (product ``claude_api``): tokens per (model, key, user, workspace, service
  account) and day; no money.
- Cost report (product ``claude_api``): money per workspace, model and day; no person.

Money is exact: amounts are cents (integers, floats or decimal strings) and become cents x
10**6 through :class:`~decimal.Decimal`; a value finer than a millionth of a cent, or not a
finite number, is refused with a :class:`MappingError` naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from unimeter.connectors.facts import NONE, UsageFactRecord
from unimeter.connectors.records import (
    ActorRecord,
    GroupMembershipRecord,
    GroupRecord,
    GroupsRecord,
    MemberRecord,
)

from .errors import MappingError
from .models import (
    ApiKey,
    Bucket,
    ClaudeCodeRow,
    CostItem,
    MessagesResult,
    User,
    Workspace,
    WorkspaceMember,
)

CLAUDE_CODE = "claude_code"
CLAUDE_API = "claude_api"
E6 = 1_000_000
# The Default Workspace has no id at Anthropic; its group and cost actor use this one.
DEFAULT_WORKSPACE = "default"
DEFAULT_WORKSPACE_NAME = "Default Workspace"

FactKey = tuple[dt.date, str, str, str, str, str, bool]


# --- values -----------------------------------------------------------------------------


def cents_e6(value: object, field: str) -> int:
    """Cents (int, float or decimal string) as an exact count of millionths of a cent."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(f"{field}: expected a number of cents, got {type(value).__name__}")
    try:
        # str() of a float is its shortest exact repr: 12.5 stays 12.5, never 12.4999….
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MappingError(f"{field}: not a number: {str(value)[:40]!r}") from exc
    if not amount.is_finite():
        raise MappingError(f"{field}: not a finite amount: {str(value)[:40]!r}")
    scaled = amount * E6
    if scaled != scaled.to_integral_value():
        raise MappingError(f"{field}: finer than a millionth of a cent: {str(value)[:40]!r}")
    return int(scaled)


def iso_ms(value: str | None) -> int | None:
    """Epoch ms of an RFC 3339 timestamp (``Z`` or an offset), None when absent."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def parse_day(value: str) -> dt.date:
    """A report day from ``YYYY-MM-DD`` or an RFC 3339 timestamp (its UTC date)."""
    text = value.strip()
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.date()
    return parsed.astimezone(dt.UTC).date()


# --- roster -----------------------------------------------------------------------------


def member_record(user: User) -> MemberRecord:
    # No removal flag at Anthropic: a removed user vanishes from /users, and the engine
    # marks members missing from the snapshot as removed.
    return MemberRecord(
        remote_id=user.id,
        email=user.email.strip().lower(),
        name=user.name,
        role=user.role,
        is_removed=False,
        raw=user.raw,
        joined_at_ms=iso_ms(user.added_at),
    )


def groups_record(
    workspaces: Iterable[Workspace], members: Mapping[str, list[WorkspaceMember]]
) -> GroupsRecord:
    """Every workspace, the Default Workspace included, with its members.

    The API gives no join time for a workspace member, so memberships start at 0.
    """
    groups = [
        GroupRecord(
            remote_id=DEFAULT_WORKSPACE,
            name=DEFAULT_WORKSPACE_NAME,
            type="workspace",
            directory_group_id=None,
            remote_created_at=None,
            remote_updated_at=None,
            raw={"id": None, "name": DEFAULT_WORKSPACE_NAME},
        )
    ]
    memberships: list[GroupMembershipRecord] = []
    for workspace in workspaces:
        groups.append(
            GroupRecord(
                remote_id=workspace.id,
                name=workspace.name or workspace.id,
                type="workspace",
                directory_group_id=None,
                remote_created_at=iso_ms(workspace.created_at),
                remote_updated_at=iso_ms(workspace.archived_at),
                raw=workspace.raw,
            )
        )
        memberships.extend(
            GroupMembershipRecord(
                group_remote_id=workspace.id,
                member_remote_id=member.user_id,
                email=None,
                name=None,
                joined_at=0,
                left_at=None,
            )
            for member in members.get(workspace.id, [])
        )
    return GroupsRecord(groups=groups, memberships=memberships, daily_spend=[])


def actor_record(key: ApiKey) -> ActorRecord:
    return ActorRecord(
        remote_id=key.id,
        kind="api_key",
        name=key.name,
        status=key.status,
        workspace_id=key.workspace_id,
        created_at_ms=iso_ms(key.created_at),
        created_by=key.created_by.id if key.created_by is not None else None,
        raw=key.raw,
    )


def key_ids_by_name(keys: Iterable[ApiKey]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in keys:
        if key.name is not None:
            found.setdefault(key.name, []).append(key.id)
    return found


def api_key_actor(name: str, ids_by_name: Mapping[str, list[str]]) -> str:
    """Claude Code names a key, not its id: the id when exactly one key has the name."""
    ids = ids_by_name.get(name, [])
    return ids[0] if len(ids) == 1 else f"api_key_name:{name}"


# --- Claude Code ------------------------------------------------------------------------


def claude_code_facts(
    rows: Iterable[ClaudeCodeRow], ids_by_name: Mapping[str, list[str]]
) -> list[UsageFactRecord]:
    """Facts of one day's rows (all of them: several per actor)."""
    facts: dict[FactKey, UsageFactRecord] = {}
    for row in rows:
        day = parse_day(row.date)
        email, actor = _claude_code_actor(row, ids_by_name)
        total = UsageFactRecord(
            day=day,
            product=CLAUDE_CODE,
            user_email=email,
            actor=actor,
            is_day_total=True,
            metrics=_work_metrics(row),
            is_active=True,
            sources=[row.raw],
        )
        _merge(facts, total)
        surface = claude_code_surface(row.is_remote, row.terminal_type)
        for index, usage in enumerate(row.model_breakdown):
            metrics = {
                "input_tokens": usage.tokens.input,
                "output_tokens": usage.tokens.output,
                "cache_read_tokens": usage.tokens.cache_read,
                "cache_write_tokens": usage.tokens.cache_creation,
            }
            if usage.estimated_cost is not None:
                where = f"model_breakdown[{index}].estimated_cost.amount"
                metrics["cost_cents_e6"] = cents_e6(usage.estimated_cost.amount, where)
            detail = UsageFactRecord(
                day=day,
                product=CLAUDE_CODE,
                user_email=email,
                actor=actor,
                surface=surface,
                model=usage.model,
                metrics=metrics,
                is_active=True,
            )
            _merge(facts, detail)
    return list(facts.values())


def _claude_code_actor(row: ClaudeCodeRow, ids_by_name: Mapping[str, list[str]]) -> tuple[str, str]:
    """(user email, actor) of a row: people by email, keys by the id their name resolves to."""
    if row.actor.email_address:
        return row.actor.email_address.strip().lower(), NONE
    if row.actor.api_key_name is not None:
        return NONE, api_key_actor(row.actor.api_key_name, ids_by_name)
    return NONE, f"actor:{row.actor.type}"  # an actor type newer than this code


def _work_metrics(row: ClaudeCodeRow) -> dict[str, int]:
    core = row.core_metrics
    return {
        "sessions": core.num_sessions,
        "lines_added": core.lines_of_code.added,
        "lines_removed": core.lines_of_code.removed,
        "commits": core.commits_by_claude_code,
        "pull_requests": core.pull_requests_by_claude_code,
        # Every tool counts, the ones newer than the docs too.
        "tool_actions_accepted": sum(t.accepted for t in row.tool_actions.values()),
        "tool_actions_rejected": sum(t.rejected for t in row.tool_actions.values()),
    }


# --- Messages usage ---------------------------------------------------------------------


def messages_facts(
    buckets: Iterable[Bucket], emails_by_id: Mapping[str, str]
) -> list[UsageFactRecord]:
    """Token facts of daily buckets grouped by model, key, user, workspace and service
    account; results that differ only by workspace are summed.

    Grouped by a dimension, a null value is the named special case: no key and no user
    and no service account is Workbench (Console) usage.
    """
    facts: dict[FactKey, UsageFactRecord] = {}
    for bucket in buckets:
        day = parse_day(bucket.starting_at)
        for payload in bucket.results:
            result = MessagesResult.model_validate(payload)
            email, actor, surface = _messages_actor(result, emails_by_id)
            cache = result.cache_creation
            fact = UsageFactRecord(
                day=day,
                product=CLAUDE_API,
                user_email=email,
                actor=actor,
                surface=surface,
                model=result.model or NONE,
                metrics={
                    "input_tokens": result.uncached_input_tokens,
                    "output_tokens": result.output_tokens,
                    "cache_read_tokens": result.cache_read_input_tokens,
                    "cache_write_tokens": (
                        cache.ephemeral_5m_input_tokens + cache.ephemeral_1h_input_tokens
                    ),
                },
                sources=[{**payload, "starting_at": bucket.starting_at}],
            )
            _merge(facts, fact)
    return list(facts.values())


def _messages_actor(
    result: MessagesResult, emails_by_id: Mapping[str, str]
) -> tuple[str, str, str]:
    if result.account_id:
        email = emails_by_id.get(result.account_id)
        if email:
            return email, NONE, "api"
        return NONE, f"user:{result.account_id}", "api"  # removed or unknown user
    if result.api_key_id:
        return NONE, result.api_key_id, "api"
    if result.service_account_id:
        return NONE, result.service_account_id, "api"
    return NONE, NONE, "console"


# --- Cost report ------------------------------------------------------------------------


def cost_facts(buckets: Iterable[Bucket]) -> list[UsageFactRecord]:
    """Money per workspace, model and day (no person: the cost report has none)."""
    facts: dict[FactKey, UsageFactRecord] = {}
    for bucket in buckets:
        day = parse_day(bucket.starting_at)
        for index, payload in enumerate(bucket.results):
            item = CostItem.model_validate(payload)
            amount = cents_e6(item.amount, f"results[{index}].amount ({bucket.starting_at})")
            fact = UsageFactRecord(
                day=day,
                product=CLAUDE_API,
                actor=f"workspace:{item.workspace_id or DEFAULT_WORKSPACE}",
                surface="api",
                model=item.model or NONE,  # web search, code execution: no model
                metrics={"cost_cents_e6": amount},
                sources=[{**payload, "starting_at": bucket.starting_at}],
            )
            _merge(facts, fact)
    return list(facts.values())


# --- helpers ----------------------------------------------------------------------------


def _merge(facts: dict[FactKey, UsageFactRecord], fact: UsageFactRecord) -> None:
    """Add ``fact`` into the one of its key: metrics summed, sources appended."""
    known = facts.get(fact.key())
    if known is None:
        facts[fact.key()] = fact
        return
    for name, value in fact.metrics.items():
        known.metrics[name] = known.metrics.get(name, 0) + value
    known.sources.extend(fact.sources)


def normalized_model(model_id: str) -> str:
    """Lower case, without a trailing ``-YYYYMMDD`` snapshot date, for grouping."""
    model = model_id.strip().lower()
    head, _, tail = model.rpartition("-")
    if head and len(tail) == 8 and tail.isdigit():
        return head
    return model


# Claude Code's terminal_type for a run with no terminal (a script, CI, the SDK).
NON_INTERACTIVE_TERMINAL = "non-interactive"


def claude_code_surface(is_remote: bool | None, terminal_type: str | None) -> str:
    """Where a Claude Code row's usage came from: a remote session (Claude Code on the web)
    is a cloud agent, a run without a terminal is automation, anything else is a person at
    a terminal or in an editor's terminal (interactive)."""
    if is_remote:
        return "cloud_agent"
    if (terminal_type or "").strip().lower() == NON_INTERACTIVE_TERMINAL:
        return "automation"
    return "terminal"
