"""Admin API endpoint logic: validate a request, query the organization, shape the answer.
Every handler takes the organization, the parsed query and the path parameters."""

from __future__ import annotations

from typing import Any

from . import records
from .config import DAY_MS, HOUR_MS
from .errors import bad_request, not_found
from .ids import date_day, rfc3339
from .org import SimOrg
from .paging import decode_token, encode_token, id_page
from .params import Query, parse_day, parse_timestamp
from .reports import (
    COST_GROUPS,
    MESSAGE_FILTERS,
    MESSAGE_GROUPS,
    WIDTHS,
    BucketPlan,
    cost_items,
    day_costs,
    message_results,
    plan_buckets,
)

CODE_LIMIT_DEFAULT = 20
CODE_LIMIT_MAX = 1000
ROLES_FILTER = ("user", "claude_code_user", "developer", "billing", "admin")
KEY_STATUSES = ("active", "inactive", "archived", "expired")

Params = dict[str, str]


def me(org: SimOrg, _q: Query, _p: Params) -> dict[str, Any]:
    return {"id": org.roster.org_id, "type": "organization", "name": org.roster.org_name}


def users(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    now = org.now_ms()
    listed = records.current_users(org, now)
    email = q.get("email")
    if email:
        listed = [u for u in listed if u.email.lower() == email.lower()]
    roles = q.array("roles")
    if any(r not in ROLES_FILTER for r in roles):
        raise bad_request(f"roles: Input should be one of {', '.join(ROLES_FILTER)}")
    if roles:
        listed = [u for u in listed if u.role_at(now) in roles]
    return id_page([records.user_json(org, u, now) for u in listed], q, prefix="user_")


def user(org: SimOrg, _q: Query, p: Params) -> dict[str, Any]:
    now = org.now_ms()
    for u in records.current_users(org, now):
        if u.id == p["user_id"]:
            return records.user_json(org, u, now)
    raise not_found("User not found")


def invites(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    now = org.now_ms()
    listed = sorted((i for i in org.roster.invites if i.invited_ms <= now), key=lambda i: i.id)
    return id_page([records.invite_json(org, i) for i in listed], q, prefix="invite_")


def invite(org: SimOrg, _q: Query, p: Params) -> dict[str, Any]:
    for i in org.roster.invites:
        if i.id == p["invite_id"] and i.invited_ms <= org.now_ms():
            return records.invite_json(org, i)
    raise not_found("Invite not found")


def workspaces(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    now = org.now_ms()
    archived = q.boolean("include_archived")
    listed = [
        records.workspace_json(org, ws, now)
        for ws in sorted(org.roster.workspaces, key=lambda w: w.id)
        if ws.created_ms <= now
    ]
    if not archived:
        listed = [ws for ws in listed if ws["archived_at"] is None]
    return id_page(listed, q, prefix="wrkspc_")


def _workspace(org: SimOrg, workspace_id: str) -> dict[str, Any]:
    now = org.now_ms()
    for ws in org.roster.workspaces:
        if ws.id == workspace_id and ws.created_ms <= now:
            return records.workspace_json(org, ws, now)
    raise not_found("Workspace not found")


def workspace(org: SimOrg, _q: Query, p: Params) -> dict[str, Any]:
    return _workspace(org, p["workspace_id"])


def workspace_members(org: SimOrg, q: Query, p: Params) -> dict[str, Any]:
    _workspace(org, p["workspace_id"])
    members = records.workspace_members(org, p["workspace_id"], org.now_ms())
    # Members have no id of their own: the cursor is the user id.
    page = id_page([{**m, "id": m["user_id"]} for m in members], q, prefix="user_")
    page["data"] = [{k: v for k, v in m.items() if k != "id"} for m in page["data"]]
    return page


def workspace_member(org: SimOrg, _q: Query, p: Params) -> dict[str, Any]:
    _workspace(org, p["workspace_id"])
    for m in records.workspace_members(org, p["workspace_id"], org.now_ms()):
        if m["user_id"] == p["user_id"]:
            return m
    raise not_found("Workspace member not found")


def api_keys(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    now = org.now_ms()
    listed = [
        records.api_key_json(org, k, now)
        for k in sorted(org.roster.api_keys, key=lambda k: k.id)
        if k.created_ms <= now
    ]
    status = q.get("status")
    if status is not None:
        if status not in KEY_STATUSES:
            raise bad_request(f"status: Input should be one of {', '.join(KEY_STATUSES)}")
        listed = [k for k in listed if k["status"] == status]
    workspace_id = q.get("workspace_id")
    if workspace_id:
        listed = [k for k in listed if k["workspace_id"] == workspace_id]
    creator = q.get("created_by_user_id")
    if creator:
        listed = [k for k in listed if (k["created_by"] or {}).get("id") == creator]
    return id_page(listed, q, prefix="apikey_")


def api_key(org: SimOrg, _q: Query, p: Params) -> dict[str, Any]:
    now = org.now_ms()
    for k in org.roster.api_keys:
        if k.id == p["api_key_id"] and k.created_ms <= now:
            return records.api_key_json(org, k, now)
    raise not_found("API key not found")


def code_day_complete(day: int, now_ms: int) -> bool:
    """Claude Code data of a day is served once the day ended at least an hour ago."""
    return (day + 1) * DAY_MS + HOUR_MS <= now_ms


def claude_code(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    day = date_day(parse_day("starting_at", q.required("starting_at")))
    limit = q.limit(CODE_LIMIT_DEFAULT, CODE_LIMIT_MAX)
    now = org.now_ms()
    if day > now // DAY_MS:
        raise bad_request("starting_at: the date cannot be in the future")
    offset = decode_token("claude_code", q) or 0
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("Invalid page token")
    rows = records.code_rows(org, day) if code_day_complete(day, now) else []
    page = rows[offset : offset + limit]
    more = offset + limit < len(rows)
    body: dict[str, Any] = {
        "data": page,
        "has_more": more,
        "next_page": encode_token("claude_code", q, offset + limit) if more else None,
    }
    if org.config.quirks.extra_fields:
        body["data_refreshed_at"] = rfc3339(now - HOUR_MS)
    return body


def _group_by(q: Query, allowed: frozenset[str]) -> list[str]:
    group_by = q.array("group_by")
    unknown = [g for g in group_by if g not in allowed]
    if unknown:
        raise bad_request(f"group_by: {unknown[0]!r} is not one of {', '.join(sorted(allowed))}")
    return group_by


def _plan(q: Query, kind: str, width_ms: int, now_ms: int) -> tuple[BucketPlan, int | None]:
    """The query's buckets and the bucket its page token resumes at."""
    start = parse_timestamp("starting_at", q.required("starting_at"))
    raw_end = q.get("ending_at")
    end = parse_timestamp("ending_at", raw_end) if raw_end else None
    if end is not None and end <= start:
        raise bad_request("ending_at must be after starting_at")
    plan = plan_buckets(width_ms, start, end, now_ms)
    resume = decode_token(kind, q)
    if resume is not None and (
        not isinstance(resume, int) or resume < plan.first or (resume - plan.first) % width_ms
    ):
        raise bad_request("Invalid page token")
    return plan, resume


def _report_page(
    org: SimOrg, q: Query, kind: str, plan: BucketPlan, resume: int | None, limit: int
) -> tuple[list[int], dict[str, Any]]:
    starts, resume_at = plan.starts(resume, limit)
    body: dict[str, Any] = {
        "data": [],
        "has_more": resume_at is not None,
        "next_page": encode_token(kind, q, resume_at) if resume_at is not None else None,
    }
    if org.config.quirks.extra_fields:
        body["data_refreshed_at"] = rfc3339(org.now_ms() // HOUR_MS * HOUR_MS)
    return starts, body


def messages(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    width_name = q.get("bucket_width") or "1d"
    if width_name not in WIDTHS:
        raise bad_request("bucket_width: Input should be '1d', '1h' or '1m'")
    width, default_limit, max_limit = WIDTHS[width_name]
    limit = q.limit(default_limit, max_limit)
    group_by = _group_by(q, MESSAGE_GROUPS)
    filters = {dim: set(q.array(name)) for name, dim in MESSAGE_FILTERS.items() if q.array(name)}
    now = org.now_ms()
    plan, resume = _plan(q, "messages", width, now)
    starts, body = _report_page(org, q, "messages", plan, resume, limit)
    body["data"] = [
        {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(start + width),
            "results": message_results(
                org.visible_usage(start, start + width, now), group_by, filters
            ),
        }
        for start in starts
    ]
    return body


def cost_report(org: SimOrg, q: Query, _p: Params) -> dict[str, Any]:
    if (q.get("bucket_width") or "1d") != "1d":
        raise bad_request("bucket_width: Input should be '1d'")
    limit = q.limit(7, 31)
    group_by = _group_by(q, COST_GROUPS)
    now = org.now_ms()
    plan, resume = _plan(q, "cost_report", DAY_MS, now)
    starts, body = _report_page(org, q, "cost_report", plan, resume, limit)
    body["data"] = [
        {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(start + DAY_MS),
            "results": cost_items(day_costs(org, start // DAY_MS, now), group_by),
        }
        for start in starts
    ]
    return body
