"""Anthropic payloads → records and facts: exact cents, multi-row days, actors, nulls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from unimeter.connectors.anthropic import mapping
from unimeter.connectors.anthropic.errors import MappingError
from unimeter.connectors.anthropic.models import (
    ApiKey,
    Bucket,
    ClaudeCodeRow,
    User,
    Workspace,
    WorkspaceMember,
)
from unimeter.connectors.facts import NONE, UsageFactRecord

DAY = dt.date(2026, 3, 4)


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "date": "2026-03-04T00:00:00Z",
        "actor": {"type": "user_actor", "email_address": "Dana@Acme.dev"},
        "organization_id": "12345678-1234-5678-1234-567812345678",
        "customer_type": "api",
        "terminal_type": "vscode",
        "is_remote": False,
        "core_metrics": {
            "num_sessions": 2,
            "lines_of_code": {"added": 10, "removed": 3},
            "commits_by_claude_code": 1,
            "pull_requests_by_claude_code": 0,
        },
        "tool_actions": {"edit_tool": {"accepted": 4, "rejected": 1}},
        "model_breakdown": [
            {
                "model": "claude-sonnet-4-5-20250929",
                "tokens": {"input": 100, "output": 50, "cache_read": 10, "cache_creation": 5},
                "estimated_cost": {"currency": "USD", "amount": 125},
            }
        ],
        "brand_new_field": {"x": 1},
    }
    base.update(overrides)
    return base


def facts_of(
    *rows: dict[str, Any], names: dict[str, list[str]] | None = None
) -> dict[tuple[str, str, str, str, bool], UsageFactRecord]:
    parsed = [ClaudeCodeRow.model_validate(r) for r in rows]
    facts = mapping.claude_code_facts(parsed, names or {})
    assert all(f.day == DAY and f.product == "claude_code" for f in facts)
    return {(f.user_email, f.actor, f.surface, f.model, f.is_day_total): f for f in facts}


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (125, 125_000_000),
        (12.5, 12_500_000),
        ("2104.128500", 2_104_128_500),
        ("0.000001", 1),
        (0, 0),
        ("-3.5", -3_500_000),
    ],
)
def test_exact_cents(amount: object, expected: int) -> None:
    assert mapping.cents_e6(amount, "amount") == expected


@pytest.mark.parametrize("amount", ["0.0000001", 0.1 + 0.2, "NaN", "Infinity", float("inf"),
                                    "twelve", True, None])  # fmt: skip
def test_refused_amounts_name_the_field(amount: object) -> None:
    with pytest.raises(MappingError, match="model_breakdown"):
        mapping.cents_e6(amount, "model_breakdown[0].estimated_cost.amount")


def test_a_multi_row_day_is_summed_per_actor() -> None:
    remote = row(
        terminal_type="web",
        is_remote=True,
        core_metrics={"num_sessions": 1, "lines_of_code": {"added": 5, "removed": 1},
                      "commits_by_claude_code": 0, "pull_requests_by_claude_code": 1},
        tool_actions={"write_tool": {"accepted": 2, "rejected": 0},
                      "bash_tool": {"accepted": 7, "rejected": 2}},
        model_breakdown=[
            {"model": "claude-sonnet-4-5-20250929",
             "tokens": {"input": 1, "output": 2, "cache_read": 3, "cache_creation": 4},
             "estimated_cost": {"currency": "USD", "amount": 12.5}},
        ],
    )  # fmt: skip
    second_local = row(terminal_type="iTerm.app", date="2026-03-04")
    facts = facts_of(row(), remote, second_local)
    total = facts[("dana@acme.dev", NONE, NONE, NONE, True)]
    assert total.metrics == {
        "sessions": 5, "lines_added": 25, "lines_removed": 7, "commits": 2,
        "pull_requests": 1, "tool_actions_accepted": 4 + 9 + 4,
        "tool_actions_rejected": 1 + 2 + 1,
    }  # fmt: skip
    assert total.is_active is True
    assert len(total.sources) == 3 and total.sources[0]["brand_new_field"] == {"x": 1}
    cli = facts[("dana@acme.dev", NONE, "terminal", "claude-sonnet-4-5-20250929", False)]
    assert cli.metrics == {
        "input_tokens": 200, "output_tokens": 100, "cache_read_tokens": 20,
        "cache_write_tokens": 10, "cost_cents_e6": 250_000_000,
    }  # fmt: skip
    cloud = facts[("dana@acme.dev", NONE, "cloud_agent", "claude-sonnet-4-5-20250929", False)]
    assert cloud.metrics["cost_cents_e6"] == 12_500_000
    assert len(facts) == 3


def test_missing_optional_fields_are_tolerated() -> None:
    bare = row()
    for name in ("is_remote", "subscription_type", "tool_actions", "customer_type"):
        bare.pop(name, None)
    bare["model_breakdown"][0].pop("estimated_cost")
    facts = facts_of(bare)
    total = facts[("dana@acme.dev", NONE, NONE, NONE, True)]
    assert total.metrics["tool_actions_accepted"] == 0
    detail = facts[("dana@acme.dev", NONE, "terminal", "claude-sonnet-4-5-20250929", False)]
    assert "cost_cents_e6" not in detail.metrics  # unknown, not zero


def test_api_actors_resolve_to_a_key_id_only_when_the_name_is_unique() -> None:
    names = mapping.key_ids_by_name(
        ApiKey.model_validate(k)
        for k in (
            {"id": "apikey_01A", "name": "ci"},
            {"id": "apikey_01B", "name": "shared"},
            {"id": "apikey_01C", "name": "shared"},
        )
    )
    rows = [
        row(actor={"type": "api_actor", "api_key_name": name}) for name in ("ci", "shared", "gone")
    ]
    actors = {f.actor for f in facts_of(*rows, names=names).values()}
    assert actors == {"apikey_01A", "api_key_name:shared", "api_key_name:gone"}
    assert all(f.user_email == NONE for f in facts_of(*rows, names=names).values())


def test_an_over_precise_cost_fails_naming_the_field() -> None:
    bad = row()
    bad["model_breakdown"][0]["estimated_cost"]["amount"] = "1.00000001"
    with pytest.raises(MappingError, match=r"model_breakdown\[0\]\.estimated_cost\.amount"):
        facts_of(bad)


def result(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "uncached_input_tokens": 10, "cache_read_input_tokens": 2,
        "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
        "output_tokens": 5, "server_tool_use": {"web_search_requests": 0},
        "model": "claude-opus-4-1-20250805", "workspace_id": None, "api_key_id": None,
        "account_id": None, "service_account_id": None, "service_tier": None,
    }  # fmt: skip
    base.update(fields)
    return base


def test_messages_null_groups_and_workspace_merge() -> None:
    bucket = Bucket.model_validate(
        {
            "starting_at": "2026-03-04T00:00:00Z",
            "ending_at": "2026-03-05T00:00:00Z",
            "results": [
                result(account_id="user_01A", workspace_id="wrkspc_1"),
                result(account_id="user_01A", workspace_id=None),  # same person, other ws
                result(account_id="user_01GONE"),
                result(api_key_id="apikey_01A"),
                result(service_account_id="svac_01A"),
                result(),  # Workbench
            ],
        }
    )
    facts = mapping.messages_facts([bucket], {"user_01A": "dana@acme.dev"})
    by = {(f.user_email, f.actor, f.surface): f for f in facts}
    assert set(by) == {
        ("dana@acme.dev", NONE, "api"), (NONE, "user:user_01GONE", "api"),
        (NONE, "apikey_01A", "api"), (NONE, "svac_01A", "api"), (NONE, NONE, "console"),
    }  # fmt: skip
    dana = by[("dana@acme.dev", NONE, "api")]
    assert dana.metrics == {
        "input_tokens": 20, "output_tokens": 10, "cache_read_tokens": 4, "cache_write_tokens": 14
    }  # fmt: skip
    assert [s["starting_at"] for s in dana.sources] == ["2026-03-04T00:00:00Z"] * 2
    assert all(f.product == "claude_api" and f.day == DAY for f in facts)


def test_cost_items_are_summed_per_workspace_and_model_exactly() -> None:
    bucket = Bucket.model_validate(
        {
            "starting_at": "2026-03-04T00:00:00Z",
            "results": [
                {"amount": "2104.128500", "currency": "USD", "workspace_id": None,
                 "model": "claude-sonnet-4-5-20250929", "token_type": "output_tokens"},
                {"amount": "0.000001", "currency": "USD", "workspace_id": None,
                 "model": "claude-sonnet-4-5-20250929", "token_type": "uncached_input_tokens"},
                {"amount": "50", "currency": "USD", "workspace_id": "wrkspc_1", "model": None,
                 "cost_type": "web_search"},
            ],
        }
    )  # fmt: skip
    facts = {(f.actor, f.model): f for f in mapping.cost_facts([bucket])}
    assert facts[("workspace:default", "claude-sonnet-4-5-20250929")].metrics == {
        "cost_cents_e6": 2_104_128_501
    }
    assert facts[("workspace:wrkspc_1", NONE)].metrics == {"cost_cents_e6": 50_000_000}
    assert all(f.surface == "api" and not f.is_day_total for f in facts.values())


def test_roster_records() -> None:
    member = mapping.member_record(
        User.model_validate(
            {"id": "user_01A", "type": "user", "email": "Dana@Acme.dev", "name": "Dana",
             "role": "claude_code_user", "added_at": "2026-03-02T17:04:11Z"}
        )
    )  # fmt: skip
    assert (member.remote_id, member.email, member.role, member.is_removed) == (
        "user_01A", "dana@acme.dev", "claude_code_user", False
    )  # fmt: skip
    assert member.joined_at_ms == 1_772_471_051_000
    workspaces = [
        Workspace.model_validate(
            {"id": "wrkspc_1", "name": "Research", "created_at": "2026-01-01T00:00:00Z",
             "archived_at": None}
        )
    ]  # fmt: skip
    members = {"wrkspc_1": [WorkspaceMember.model_validate({"user_id": "user_01A"})]}
    groups = mapping.groups_record(workspaces, members)
    assert [(g.remote_id, g.name, g.type) for g in groups.groups] == [
        ("default", "Default Workspace", "workspace"), ("wrkspc_1", "Research", "workspace")
    ]  # fmt: skip
    assert [(m.group_remote_id, m.member_remote_id, m.joined_at, m.left_at)
            for m in groups.memberships] == [("wrkspc_1", "user_01A", 0, None)]  # fmt: skip
    actor = mapping.actor_record(
        ApiKey.model_validate(
            {"id": "apikey_01A", "name": "ci", "status": "archived", "workspace_id": None,
             "created_at": "2026-01-01T00:00:00Z", "created_by": {"id": "user_01A", "type": "user"}}
        )
    )  # fmt: skip
    assert (actor.kind, actor.status, actor.created_by, actor.created_at_ms) == (
        "api_key", "archived", "user_01A", 1_767_225_600_000
    )  # fmt: skip


@pytest.mark.parametrize(
    ("model", "grouped"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("Claude-Opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-5", "claude-opus-5"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet-latest"),
    ],
)
def test_normalized_model(model: str, grouped: str) -> None:
    assert mapping.normalized_model(model) == grouped
