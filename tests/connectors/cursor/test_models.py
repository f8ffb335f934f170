"""Response models: documented examples parse, unknown fields survive, the raw payload is kept."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import BaseModel, ValidationError

from unimeter.connectors.cursor.models import (
    AuditEvent,
    AuditLogResponse,
    BillingGroup,
    DailyUsageResponse,
    GroupResponse,
    GroupsResponse,
    Member,
    MembersResponse,
    SpendResponse,
    UsageEvent,
    UsageEventsResponse,
)

# Examples from cursor-api.md §2, plus an undocumented field at every level.
MEMBERS = b"""{"teamMembers":[
  {"id":"user_7Hq2LmN0pXa9RtYb3CdE5fGh1J","name":"Dana Ito","email":"dana@acme.dev",
   "role":"owner","isRemoved":false,"userId":88231},
  {"id":12345,"name":"Lee Park","email":"lee@acme.dev","role":"free-owner","isRemoved":true}],
 "nextThing":{"a":1}}"""

DAILY = b"""{"data":[
  {"userId":88231,"day":"2026-05-01","date":1777593600000,"email":"lee@acme.dev","isActive":true,
   "totalLinesAdded":412,"totalLinesDeleted":90,"acceptedLinesAdded":300,"acceptedLinesDeleted":41,
   "totalApplies":22,"totalAccepts":18,"totalRejects":4,"totalTabsShown":150,"totalTabsAccepted":97,
   "composerRequests":6,"chatRequests":14,"agentRequests":31,"cmdkUsages":3,
   "subscriptionIncludedReqs":40,"apiKeyReqs":0,"usageBasedReqs":2,"bugbotUsages":0,
   "mostUsedModel":"claude-4.5-sonnet","applyMostUsedExtension":".py","tabMostUsedExtension":null,
   "clientVersion":"2.3.1","cliRequests":3}],
 "period":{"startDate":1777593600000,"endDate":1778111999999},
 "pagination":{"page":1,"pageSize":500,"totalUsers":1,"totalPages":1,"hasNextPage":false,
   "hasPreviousPage":false}}"""

SPEND = b"""{"teamMemberSpend":[
  {"userId":"user_Qw8ErTy6UiOp2AsDf4GhJk0LzX","name":"Lee Park","email":"lee@acme.dev",
   "role":"member","spendCents":1312.44871,"overallSpendCents":4312.44871,
   "fastPremiumRequests":210,"hardLimitOverrideDollars":0,"monthlyLimitDollars":150,
   "effectivePerUserLimitDollars":150,"removedAt":null,"profilePictureUrl":"https://x"}],
 "subscriptionCycleStart":1777248000000,"totalMembers":1,"totalPages":1,
 "limitedUsersCount":0,"maxUserSpendCents":4312.44871}"""

EVENTS = b"""{"totalUsageEventsCount":57,
 "pagination":{"numPages":29,"currentPage":1,"pageSize":2,"hasNextPage":true,
   "hasPreviousPage":false},
 "usageEvents":[
  {"timestamp":"1777650123456","userEmail":"lee@acme.dev",
   "conversationId":"1b2c3d4e-0000-4000-8000-00000000abcd",
   "model":"claude-4.5-sonnet","kind":"Usage-based","maxMode":false,"requestsCosts":2,
   "isTokenBasedCall":true,"isChargeable":true,"isHeadless":false,
   "tokenUsage":{"inputTokens":1800,"outputTokens":640,"cacheWriteTokens":9000,
     "cacheReadTokens":42000,"totalCents":7.9125,"newTokenKind":5},
   "chargedCents":8.4125,"cursorTokenFee":0.5,"priceTier":"standard"},
  {"timestamp":"1777649000000","userEmail":"","model":"composer-2",
   "kind":"Included in Business","maxMode":false,"requestsCosts":1.4,"isTokenBasedCall":false,
   "isChargeable":false,"isHeadless":true,"chargedCents":0}],
 "period":{"startDate":1777593600000,"endDate":1777679999999}}"""

AUDIT = b"""{"events":[
  {"event_id":"evt_9f2a","timestamp":"2026-05-02T09:14:00.000Z","ip_address":"198.51.100.7",
   "user_email":"dana@acme.dev","event_type":"add_user","application_type":"cursor",
   "event_data":{"email":"new@acme.dev","method":"manual"},"actor_role":"owner"}],
 "pagination":{"page":1,"pageSize":2,"totalCount":1,"totalPages":1,"hasNextPage":false,
   "hasPreviousPage":false},
 "params":{"teamId":4711,"startDate":1777100000000,"endDate":1777704800000}}"""

GROUP = {
    "id": "group_Ab12",
    "name": "Platform",
    "type": "BILLING",
    "directoryGroupId": None,
    "memberCount": 1,
    "createdAt": "2026-01-05T10:00:00.000Z",
    "updatedAt": "2026-02-01T08:00:00.000Z",
    "spendCents": 52000,
    "currentMembers": [
        {
            "userId": "user_Qw8E",
            "name": "Lee Park",
            "email": "lee@acme.dev",
            "joinedAt": "2026-01-05T10:00:00.000Z",
            "leftAt": None,
            "spendCents": 52000,
            "dailySpend": [{"date": "2026-05-01", "spendCents": 1800.5}],
        }
    ],
    "formerMembers": [],
    "dailySpend": [{"date": "2026-05-01", "spendCents": 1800.5, "currency": "usd"}],
}
CYCLE = {"cycleStart": "2026-05-01T00:00:00.000Z", "cycleEnd": "2026-06-01T00:00:00.000Z"}
GROUPS = {"groups": [GROUP], "unassignedGroup": {"id": "group_unassigned"}, "billingCycle": CYCLE}

CASES: list[tuple[type[BaseModel], dict[str, Any]]] = [
    (MembersResponse, orjson.loads(MEMBERS)),
    (DailyUsageResponse, orjson.loads(DAILY)),
    (SpendResponse, orjson.loads(SPEND)),
    (UsageEventsResponse, orjson.loads(EVENTS)),
    (AuditLogResponse, orjson.loads(AUDIT)),
    (GroupsResponse, GROUPS),
    (GroupResponse, {"group": GROUP, "billingCycle": CYCLE}),
]


@pytest.mark.parametrize(("model", "payload"), CASES)
def test_payloads_round_trip_with_unknown_fields(
    model: type[BaseModel], payload: dict[str, Any]
) -> None:
    parsed = model.model_validate(payload)
    assert parsed.model_dump(by_alias=True, exclude_unset=True) == payload
    assert parsed.raw is payload  # type: ignore[attr-defined]


def test_members_fields() -> None:
    response = MembersResponse.model_validate(orjson.loads(MEMBERS))
    dana, lee = response.team_members
    assert (dana.id, dana.role, dana.is_removed) == (
        "user_7Hq2LmN0pXa9RtYb3CdE5fGh1J",
        "owner",
        False,
    )
    assert (lee.id, lee.role, lee.is_removed) == (12345, "free-owner", True)
    assert dana.model_extra == {"userId": 88231}
    assert response.model_extra == {"nextThing": {"a": 1}}


def test_daily_usage_fields() -> None:
    response = DailyUsageResponse.model_validate(orjson.loads(DAILY))
    (row,) = response.data
    assert (row.user_id, row.day, row.date, row.is_active) == (
        88231,
        "2026-05-01",
        1777593600000,
        True,
    )
    assert (row.total_lines_added, row.cmdk_usages, row.subscription_included_reqs) == (412, 3, 40)
    assert (row.most_used_model, row.tab_most_used_extension) == ("claude-4.5-sonnet", None)
    assert response.period is not None and response.period.end_date == 1778111999999
    assert response.pagination is not None and response.pagination.total_users == 1
    assert row.raw["cliRequests"] == 3


def test_spend_fields_keep_fractional_cents() -> None:
    response = SpendResponse.model_validate(orjson.loads(SPEND))
    (member,) = response.team_member_spend
    assert member.user_id == "user_Qw8ErTy6UiOp2AsDf4GhJk0LzX"
    assert (member.spend_cents, member.overall_spend_cents) == (1312.44871, 4312.44871)
    assert (member.monthly_limit_dollars, member.fast_premium_requests) == (150, 210)
    assert response.subscription_cycle_start == 1777248000000
    assert response.model_extra == {"limitedUsersCount": 0, "maxUserSpendCents": 4312.44871}


def test_usage_event_fields() -> None:
    response = UsageEventsResponse.model_validate(orjson.loads(EVENTS))
    charged, included = response.usage_events
    assert (charged.timestamp, charged.timestamp_ms) == ("1777650123456", 1777650123456)
    assert charged.token_usage is not None and charged.token_usage.total_cents == 7.9125
    assert charged.token_usage.model_extra == {"newTokenKind": 5}
    assert (charged.charged_cents, charged.cursor_token_fee) == (8.4125, 0.5)
    assert charged.conversation_id == "1b2c3d4e-0000-4000-8000-00000000abcd"
    assert (included.user_email, included.requests_costs, included.token_usage) == ("", 1.4, None)
    assert included.is_headless and included.cursor_token_fee is None
    assert response.pagination is not None and response.pagination.num_pages == 29


def test_a_numeric_event_timestamp_is_kept_as_a_string() -> None:
    event = UsageEvent.model_validate({"timestamp": 1777650123456})
    assert event.timestamp == "1777650123456"


def test_audit_events_are_snake_case_on_the_wire() -> None:
    response = AuditLogResponse.model_validate(orjson.loads(AUDIT))
    (event,) = response.events
    assert (event.event_id, event.event_type, event.ip_address) == (
        "evt_9f2a",
        "add_user",
        "198.51.100.7",
    )
    assert event.event_data == {"email": "new@acme.dev", "method": "manual"}
    assert response.params is not None and response.params.team_id == 4711
    assert response.pagination is not None and response.pagination.total_count == 1
    camel = AuditEvent.model_validate({"event_id": "e", "timestamp": "t", "eventType": "login"})
    assert camel.event_type is None and camel.model_extra == {"eventType": "login"}


def test_groups_fields() -> None:
    response = GroupsResponse.model_validate(GROUPS)
    (group,) = response.groups
    assert (group.id, group.member_count, group.spend_cents) == ("group_Ab12", 1, 52000)
    assert group.current_members[0].daily_spend[0].spend_cents == 1800.5
    assert group.daily_spend[0].model_extra == {"currency": "usd"}
    assert group.members == [] and group.former_members == []
    assert response.unassigned_group == BillingGroup(id="group_unassigned")
    assert response.billing_cycle is not None
    assert response.billing_cycle.cycle_end == "2026-06-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (MembersResponse, {}),
        (DailyUsageResponse, {"period": {}}),
        (UsageEventsResponse, {"totalUsageEventsCount": 0}),
        (UsageEvent, {"userEmail": "a@b.c"}),
        (AuditEvent, {"timestamp": "2026-05-02T09:14:00.000Z"}),
        (GroupResponse, {"billingCycle": CYCLE}),
        (BillingGroup, {"name": "no id"}),
        (Member, {"isRemoved": "not a bool"}),
    ],
)
def test_payloads_missing_what_gives_them_meaning_are_refused(
    model: type[BaseModel], payload: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(payload)


def test_models_accept_either_spelling_are_frozen_and_dump_raw_when_built() -> None:
    built = Member(id="user_1", is_removed=True)
    assert built == Member.model_validate({"id": "user_1", "isRemoved": True})
    assert built.raw == {"id": "user_1", "isRemoved": True}
    with pytest.raises(ValidationError):
        built.email = "changed@example.com"
