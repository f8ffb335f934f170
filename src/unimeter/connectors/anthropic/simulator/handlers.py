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
from .params import Query, parse_day

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
