"""Cursor payloads → vendor-neutral records.

Usage events, the bulk of every backfill, are mapped in ``event_mapping.py``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import (
    MEMBER_REMOVED,
    UNASSIGNED_GROUP_TYPE,
    AuditEventRecord,
    DailyUsageRecord,
    GroupDailySpendRecord,
    GroupMembershipRecord,
    GroupRecord,
    GroupsRecord,
    MemberRecord,
    SpendMemberRecord,
    SpendSnapshotRecord,
)

from .models import (
    AuditEvent,
    BillingGroup,
    CursorModel,
    DailyUsageRow,
    GroupsResponse,
    Member,
    SpendMember,
)

log = logging.getLogger("unimeter.cursor")

E6 = 1_000_000
# Cursor sells one product: every fact and event of a Cursor account is usage of it.
PRODUCT_ID = "cursor"


def raw(model: CursorModel) -> dict[str, Any]:
    """The payload as Cursor sent it, unknown fields included."""
    return model.raw


def cents_e6(value: float | int | None) -> int | None:
    """Cents as an exact integer count of millionths of a cent.

    Cursor sends fractional cents as JSON floats with up to six decimals; scaling and
    rounding once is exact for every amount below about 10**9 cents.
    """
    if value is None:
        return None
    return round(value * E6)


def _iso_ms(value: str | None) -> int | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def _int_or_none(value: int | str | None) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


# -- members --------------------------------------------------------------------------------


def member_record(m: Member) -> MemberRecord:
    email = (m.email or "").strip().lower()
    remote_id = str(m.id) if m.id is not None else f"email:{email}"
    extra_numeric = raw(m).get("userId")
    return MemberRecord(
        remote_id=remote_id,
        email=email,
        name=m.name,
        role=m.role,
        is_removed=bool(m.is_removed),
        numeric_id=_int_or_none(m.id) or _int_or_none(extra_numeric),
        raw=raw(m),
    )


# -- daily usage ----------------------------------------------------------------------------


def daily_usage_record(row: DailyUsageRow) -> DailyUsageRecord:
    email = (row.email or "").strip().lower()
    numeric = _int_or_none(row.user_id)
    day = dt.date.fromisoformat(row.day) if row.day else _day_of(row.date)
    user_key = f"id:{row.user_id}" if row.user_id is not None else f"email:{email}"
    return DailyUsageRecord(
        day=day,
        user_key=user_key,
        email=email,
        numeric_user_id=numeric,
        # Rows from the unpaginated mode omit isActive: they only list active members.
        is_active=True if row.is_active is None else row.is_active,
        lines_added=row.total_lines_added or 0,
        lines_deleted=row.total_lines_deleted or 0,
        accepted_lines_added=row.accepted_lines_added or 0,
        accepted_lines_deleted=row.accepted_lines_deleted or 0,
        applies=row.total_applies or 0,
        accepts=row.total_accepts or 0,
        rejects=row.total_rejects or 0,
        tabs_shown=row.total_tabs_shown or 0,
        tabs_accepted=row.total_tabs_accepted or 0,
        composer_requests=row.composer_requests or 0,
        chat_requests=row.chat_requests or 0,
        agent_requests=row.agent_requests or 0,
        cmdk_requests=row.cmdk_usages or 0,
        included_requests=row.subscription_included_reqs or 0,
        usage_based_requests=row.usage_based_reqs or 0,
        api_key_requests=row.api_key_reqs or 0,
        bugbot_requests=row.bugbot_usages or 0,
        most_used_model=row.most_used_model,
        apply_extension=row.apply_most_used_extension,
        tab_extension=row.tab_most_used_extension,
        client_version=row.client_version,
        raw=raw(row),
    )


def day_total_fact(r: DailyUsageRecord) -> UsageFactRecord:
    """A member-day of daily usage as the canonical day total (Cursor's own aggregate).

    It reports requests by how they were paid for and by feature, completions (tabs) and
    code; tokens and charges come from the usage events, as detail facts.
    """
    requests = r.included_requests + r.usage_based_requests + r.api_key_requests
    metrics = {
        "requests": requests,
        "requests_included": r.included_requests,
        "requests_usage_based": r.usage_based_requests,
        "requests_api_key": r.api_key_requests,
        "chat_requests": r.chat_requests,
        "agent_requests": r.agent_requests,
        "edit_requests": r.composer_requests,
        "inline_edit_requests": r.cmdk_requests,
        "review_requests": r.bugbot_requests,
        "completions_shown": r.tabs_shown,
        "completions_accepted": r.tabs_accepted,
        "lines_added": r.lines_added,
        "lines_removed": r.lines_deleted,
        "accepted_lines_added": r.accepted_lines_added,
        "accepted_lines_removed": r.accepted_lines_deleted,
        "applies": r.applies,
        "accepts": r.accepts,
        "rejects": r.rejects,
    }
    return UsageFactRecord(
        day=r.day,
        product=PRODUCT_ID,
        user_email=r.email,
        is_day_total=True,
        metrics=metrics,
        is_active=r.is_active,
        client_version=r.client_version,
    )


def _day_of(epoch_ms: int | None) -> dt.date:
    if epoch_ms is None:
        raise ValueError("daily usage row without day or date")
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).date()


# -- spend, groups, audit -------------------------------------------------------------------


def spend_member_record(s: SpendMember) -> SpendMemberRecord:
    return SpendMemberRecord(
        remote_id=str(s.user_id) if s.user_id is not None else None,
        email=(s.email or "").strip().lower(),
        name=s.name,
        role=s.role,
        on_demand_cents_e6=cents_e6(s.spend_cents) or 0,
        overall_cents_e6=cents_e6(s.overall_spend_cents) or 0,
        premium_requests=s.fast_premium_requests or 0,
        hard_limit_override_dollars=_whole(s.hard_limit_override_dollars),
        monthly_limit_dollars=_whole(s.monthly_limit_dollars),
        effective_limit_dollars=_whole(s.effective_per_user_limit_dollars),
        raw=raw(s),
    )


def _whole(value: float | int | None) -> int | None:
    return None if value is None else round(value)


def spend_snapshot(
    members: list[SpendMember], cycle_start_ms: int | None, meta: dict[str, Any]
) -> SpendSnapshotRecord:
    return SpendSnapshotRecord(
        cycle_start_ms=cycle_start_ms,
        total_members=len(members),
        members=[spend_member_record(m) for m in members],
        meta=meta,
    )


def groups_record(response: GroupsResponse) -> GroupsRecord:
    out = GroupsRecord(groups=[], memberships=[], daily_spend=[])
    for g in response.groups or []:
        _add_group(out, g)
    if response.unassigned_group is not None:
        _add_group(out, response.unassigned_group, unassigned=True)
    return out


def _add_group(out: GroupsRecord, g: BillingGroup, *, unassigned: bool = False) -> None:
    group_raw = dict(raw(g))
    # Member lists are history, kept as memberships; the group row keeps the rest.
    for noisy in ("currentMembers", "formerMembers", "dailySpend"):
        group_raw.pop(noisy, None)
    out.groups.append(
        GroupRecord(
            remote_id=g.id,
            name=g.name or g.id,
            # Members of no group sit in Cursor's reserved group; the store marks it so
            # nothing outside the connector needs to know its id.
            type=UNASSIGNED_GROUP_TYPE if unassigned else g.type,
            directory_group_id=g.directory_group_id,
            remote_created_at=_iso_ms(g.created_at),
            remote_updated_at=_iso_ms(g.updated_at),
            raw=group_raw,
        )
    )
    for member in [*(g.current_members or []), *(g.former_members or [])]:
        joined = _iso_ms(member.joined_at)
        if joined is None or member.user_id is None:
            continue
        out.memberships.append(
            GroupMembershipRecord(
                group_remote_id=g.id,
                member_remote_id=str(member.user_id),
                email=(member.email or "").strip().lower() or None,
                name=member.name,
                joined_at=joined,
                left_at=_iso_ms(member.left_at),
            )
        )
    for point in g.daily_spend or []:
        out.daily_spend.append(
            GroupDailySpendRecord(
                group_remote_id=g.id,
                day=dt.date.fromisoformat(point.date),
                spend_cents_e6=cents_e6(point.spend_cents) or 0,
            )
        )


# Cursor's audit event types that mean a neutral action (records.MEMBER_REMOVED, …).
_AUDIT_ACTIONS = {"remove_user": MEMBER_REMOVED}


def audit_event_record(e: AuditEvent) -> AuditEventRecord:
    data = dict(e.event_data or {})
    action = _AUDIT_ACTIONS.get(e.event_type or "")
    # A removal names the removed member in its data ("email"); the actor is userEmail.
    subject = (str(data.get("email", "")).strip().lower() or None) if action else None
    return AuditEventRecord(
        remote_id=e.event_id,
        timestamp_ms=_iso_ms(e.timestamp) or 0,
        event_type=e.event_type or "",
        user_email=(e.user_email or "").strip().lower() or None,
        ip_address=e.ip_address,
        application_type=e.application_type,
        event_data=data,
        raw=raw(e),
        action=action,
        subject_email=subject,
    )


# Cursor's model ids, normalised for grouping (design note 7): Admin API ids put the
# version before the family (claude-4.5-sonnet), Analytics after (claude-sonnet-4.5).
_PROVIDERS = (
    ("claude", "anthropic"),
    ("gpt", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("gemini", "google"),
    ("grok", "xai"),
    ("composer", "cursor"),
    ("cursor", "cursor"),
)


def model_provider(model_id: str) -> str:
    lowered = model_id.lower()
    if lowered in ("auto", "default", ""):
        return "cursor"
    for prefix, provider in _PROVIDERS:
        if lowered.startswith(prefix):
            return provider
    return "unknown"


def normalized_model(model_id: str) -> str:
    lowered = model_id.lower()
    return "auto" if lowered == "default" else lowered
