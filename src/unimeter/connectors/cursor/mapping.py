"""Cursor payloads → vendor-neutral records.

The one subtle part is the identity of a usage event. Cursor gives events no id, adjusts
their costs after the fact and blanks the email of removed members, so the identity is a
hash of the fields that never change for a real event, plus an ordinal among events that
are identical on those fields (parallel agents do emit exact twins). See
``docs/design-notes`` §1 in the shared references.
"""

from __future__ import annotations

import datetime as dt
import hashlib
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
    UsageEventRecord,
)

from .models import (
    AuditEvent,
    BillingGroup,
    CursorModel,
    DailyUsageRow,
    GroupsResponse,
    Member,
    SpendMember,
    UsageEvent,
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


# -- usage events ---------------------------------------------------------------------------


class EventIdentities:
    """Assigns fingerprints to the events of one window, in the order Cursor returns them.

    Identical events share a timestamp, so ordinals are counted per timestamp. Cursor
    returns events newest first; while that holds, counts of timestamps already passed are
    dropped, keeping memory flat however large the window. If the order is ever violated,
    counting continues for the whole window (correct, just heavier).
    """

    def __init__(self) -> None:
        self._counts: dict[bytes, int] = {}
        self._last_ts: int | None = None
        self._ordered = True

    def fingerprint(self, event: UsageEvent, timestamp_ms: int) -> str:
        if self._last_ts is not None and timestamp_ms != self._last_ts:
            if timestamp_ms > self._last_ts and self._ordered:
                self._ordered = False
                log.warning("usage events are not newest-first; counting ordinals window-wide")
            if self._ordered:
                self._counts.clear()
        self._last_ts = timestamp_ms
        key = _identity(event, timestamp_ms)
        ordinal = self._counts.get(key, 0)
        self._counts[key] = ordinal + 1
        return hashlib.blake2b(key + ordinal.to_bytes(4, "big"), digest_size=16).hexdigest()


def _identity(e: UsageEvent, timestamp_ms: int) -> bytes:
    # Never the email (blanked after removal) nor any cost field (adjusted after the fact),
    # nor the billing label (a derived classification).
    usage = e.token_usage
    parts = (
        timestamp_ms,
        e.model or "",
        bool(e.max_mode),
        bool(e.is_token_based_call),
        bool(e.is_headless),
        usage.input_tokens or 0 if usage else 0,
        usage.output_tokens or 0 if usage else 0,
        usage.cache_write_tokens or 0 if usage else 0,
        usage.cache_read_tokens or 0 if usage else 0,
        e.conversation_id or "",
        e.cloud_agent_id or "",
        e.service_account_id or "",
        e.automation_id or "",
    )
    return "\x1f".join(map(str, parts)).encode()


def usage_event_record(e: UsageEvent, fingerprint: str, timestamp_ms: int) -> UsageEventRecord:
    usage = e.token_usage
    return UsageEventRecord(
        fingerprint=fingerprint,
        timestamp_ms=timestamp_ms,
        product=PRODUCT_ID,
        email=(e.user_email or "").strip().lower(),
        model=e.model or "",
        kind=e.kind or "",
        charge_type=charge_type(e),
        surface=surface(e),
        max_mode=bool(e.max_mode),
        is_token_based=bool(e.is_token_based_call),
        is_chargeable=bool(e.is_chargeable),
        is_headless=bool(e.is_headless),
        input_tokens=(usage.input_tokens or 0) if usage else 0,
        output_tokens=(usage.output_tokens or 0) if usage else 0,
        cache_write_tokens=(usage.cache_write_tokens or 0) if usage else 0,
        cache_read_tokens=(usage.cache_read_tokens or 0) if usage else 0,
        token_cents_e6=cents_e6(usage.total_cents) if usage else None,
        token_fee_cents_e6=cents_e6(e.cursor_token_fee),
        charged_cents_e6=cents_e6(e.charged_cents) or 0,
        request_units_e6=cents_e6(e.requests_costs) or 0,
        conversation_id=e.conversation_id,
        cloud_agent_id=e.cloud_agent_id,
        service_account_id=e.service_account_id,
        automation_id=e.automation_id,
        raw=raw(e),
    )


def charge_type(e: UsageEvent) -> str:
    """How an event was billed. Labels are display text that Cursor changes, so only the
    well-known ones are trusted; anything else falls back to ``isChargeable``."""
    label = (e.kind or "").lower()
    if "not charged" in label or label.startswith(("errored", "aborted")):
        return "errored"
    if "api key" in label:
        return "api_key"
    if label.startswith(("usage-based", "on-demand")):
        return "usage_based"
    if label.startswith("included"):
        return "included"
    return "usage_based" if e.is_chargeable else "included"


def surface(e: UsageEvent) -> str:
    if e.cloud_agent_id:
        return "cloud_agent"
    if e.automation_id:
        return "automation"
    if e.service_account_id:
        return "service_account"
    return "cli" if e.is_headless else "ide"


def usage_event_records(
    events: list[UsageEvent], identities: EventIdentities
) -> list[UsageEventRecord]:
    out = []
    for e in events:
        ts = int(e.timestamp)
        out.append(usage_event_record(e, identities.fingerprint(e, ts), ts))
    return out


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
