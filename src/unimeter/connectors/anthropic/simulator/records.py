"""Records as the Admin API serializes them: users, invites, workspaces, members, API keys
and Claude Code rows. The HTTP handlers and the ground truth both use these."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from .activity import CodeRow, ModelUse
from .catalog import PRICES
from .config import DAY_MS
from .ids import day_date, rfc3339
from .org import SimOrg
from .roster import SimApiKey, SimInvite, SimUser, SimWorkspace

INVITE_DAYS = 21


def user_json(org: SimOrg, user: SimUser, now_ms: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": user.id,
        "type": "user",
        "email": user.email,
        "name": user.name,
        "role": user.role_at(now_ms),
        "added_at": rfc3339(user.added_ms),
    }
    if org.config.quirks.extra_fields:
        out["avatar_url"] = None
    return out


def current_users(org: SimOrg, now_ms: int) -> list[SimUser]:
    """Users listed now (removed users vanish), in id order."""
    return sorted((u for u in org.roster.users if u.present(now_ms)), key=lambda u: u.id)


def invite_json(org: SimOrg, invite: SimInvite) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": invite.id,
        "type": "invite",
        "email": invite.email,
        "role": invite.role,
        "invited_at": rfc3339(invite.invited_ms),
        "expires_at": rfc3339(invite.invited_ms + INVITE_DAYS * DAY_MS),
        "status": invite.status,
    }
    if org.config.quirks.extra_fields:
        out["rbac_group_ids"] = []
    return out


def workspace_json(org: SimOrg, ws: SimWorkspace, now_ms: int) -> dict[str, Any]:
    archived = ws.archived_ms if ws.archived_ms is not None and ws.archived_ms <= now_ms else None
    out: dict[str, Any] = {
        "id": ws.id,
        "type": "workspace",
        "name": ws.name,
        "created_at": rfc3339(ws.created_ms),
        "archived_at": rfc3339(archived) if archived is not None else None,
        "display_color": ws.color,
    }
    if org.config.quirks.extra_fields:
        out["data_residency"] = {
            "workspace_geo": "us",
            "default_inference_geo": "global",
            "allowed_inference_geos": "unrestricted",
        }
    return out


def workspace_members(org: SimOrg, workspace_id: str, now_ms: int) -> list[dict[str, Any]]:
    users = {u.index: u for u in org.roster.users}
    out = [
        {
            "type": "workspace_member",
            "user_id": users[m.user].id,
            "workspace_id": m.workspace_id,
            "workspace_role": m.role,
        }
        for m in org.roster.memberships
        if m.workspace_id == workspace_id and users[m.user].present(now_ms)
    ]
    return sorted(out, key=lambda m: str(m["user_id"]))


def api_key_json(org: SimOrg, key: SimApiKey, now_ms: int) -> dict[str, Any]:
    users = org.roster.users
    stopped = key.stopped_ms is not None and key.stopped_ms <= now_ms
    workspace = key.workspace_id or org.roster.default_workspace_id
    out: dict[str, Any] = {
        "id": key.id,
        "type": "api_key",
        "name": key.name,
        "workspace_id": key.workspace_id,
        "created_at": rfc3339(key.created_ms),
        "created_by": (
            {"id": users[key.created_by].id, "type": "user"} if key.created_by is not None else None
        ),
        "partial_key_hint": key.hint,
        "status": key.status if stopped else "active",
        "expires_at": None,
        # Newer API: the default workspace shows with its real id here.
        "scope": {"type": "workspace", "workspace_id": workspace},
    }
    if org.config.quirks.extra_fields:
        out["last_used_at"] = None
    return out


def code_rows(org: SimOrg, day: int) -> list[dict[str, Any]]:
    """A day's Claude Code rows, in served order (before freshness and paging)."""
    activity = org.day(day)
    quirks = org.config.quirks
    rows = [
        r
        for r in activity.rows
        if not (quirks.subscription_missing and r.customer_type == "subscription")
    ]
    if quirks.shuffle_rows:
        rows.sort(key=lambda r: r.order)
    else:
        rows.sort(key=lambda r: (r.actor_type, r.actor, r.terminal_type, r.is_remote))
    factor = org.revision_factor(day)
    return [code_row_json(org, row, day, factor) for row in rows]


def code_row_json(org: SimOrg, row: CodeRow, day: int, factor: Fraction) -> dict[str, Any]:
    quirks = org.config.quirks
    actor: dict[str, Any] = (
        {"type": "user_actor", "email_address": row.actor}
        if row.actor_type == "user_actor"
        else {"type": "api_actor", "api_key_name": row.actor}
    )
    out: dict[str, Any] = {
        "date": rfc3339(day * DAY_MS) if quirks.date_format == "rfc3339" else str(day_date(day)),
        "actor": actor,
        "organization_id": org.roster.org_id,
        "customer_type": row.customer_type,
        "subscription_type": row.subscription_type,
        "terminal_type": row.terminal_type,
        "is_remote": row.is_remote,
        "core_metrics": {
            "num_sessions": row.sessions,
            "lines_of_code": {"added": row.lines_added, "removed": row.lines_removed},
            "commits_by_claude_code": row.commits,
            "pull_requests_by_claude_code": row.pull_requests,
        },
        "tool_actions": {
            name: {"accepted": accepted, "rejected": rejected}
            for name, accepted, rejected in row.tools
        },
        "model_breakdown": [
            {
                "model": use.model,
                "tokens": {
                    "input": use.input,
                    "output": use.output,
                    "cache_read": use.cache_read,
                    "cache_creation": use.cache_creation,
                },
                "estimated_cost": {
                    "currency": "USD",
                    "amount": estimated_cents(use, factor, fractional=quirks.fractional_cost),
                },
            }
            for use in row.models
        ],
    }
    if quirks.extra_fields:
        out["app_version"] = "2.0.14"
    return out


def estimated_cents(use: ModelUse, factor: Fraction, *, fractional: bool) -> int | float:
    """The row's estimate in cents: whole cents, or (quirk) a float with fractional cents."""
    price = PRICES[use.model]
    one_hour = use.cache_creation // 5
    cost = (
        Fraction(
            use.input * price.input
            + use.output * price.output
            + use.cache_read * price.cache_read
            + (use.cache_creation - one_hour) * price.cache_write_5m
            + one_hour * price.cache_write_1h,
            1_000_000,
        )
        * factor
    )
    exact = Decimal(cost.numerator) / Decimal(cost.denominator)
    if fractional:
        return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
