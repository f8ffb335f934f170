"""Admin API endpoint logic: validate a request, query the team, shape the response."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .audit import EVENT_TYPES, AuditQuery
from .catalog import HOSTING_TYPES
from .config import DAY_MS
from .events import NO_MATCH, EventFilter, hosting_index, serialize_events
from .groups import GroupsView
from .ledger import cycle_days
from .spend import SpendQuery, spend_response
from .team import RemovalRefusedError
from .timeparse import parse_time
from .usage import active_rows, day_range, paged_rows
from .validation import (
    CursorHTTPError,
    bad_request,
    not_found,
    optional_int,
    optional_str,
    query_int,
)
from .world import TeamServices

MAX_RANGE_MS = 30 * DAY_MS
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def members(svc: TeamServices) -> dict[str, Any]:
    team = svc.team
    now = team.now_ms()
    extra = team.config.quirks.extra_fields
    rows = []
    for m in team.members:
        if m.joined_ms > now:
            continue
        row: dict[str, Any] = {
            "id": m.user_id,
            "name": m.name,
            "email": m.email,
            "role": m.role_at(now),
            "isRemoved": team.is_removed(m, now),
        }
        if extra:
            row["userId"] = m.numeric_id
        rows.append(row)
    return {"teamMembers": rows}


def _date_range(body: dict[str, Any], now: int, default_days: int) -> tuple[int, int]:
    start = optional_int(body, "startDate", minimum=0)
    end = optional_int(body, "endDate", minimum=0)
    end = now if end is None else end
    start = end - default_days * DAY_MS if start is None else start
    if start > end:
        raise bad_request("startDate must be before endDate")
    if end - start > MAX_RANGE_MS:
        raise bad_request("Date range cannot exceed 30 days")
    return start, end


def daily_usage(svc: TeamServices, body: dict[str, Any]) -> dict[str, Any]:
    team = svc.team
    now = team.now_ms()
    start, end = _date_range(body, now, 7)
    page = optional_int(body, "page", minimum=1)
    page_size = optional_int(body, "pageSize", minimum=1, maximum=1000)
    days = day_range(team, start, end, now)
    period = {"startDate": start, "endDate": end}
    if page is None or page_size is None:
        return {"data": active_rows(team, svc.usage, days, now), "period": period}
    rows, total_users = paged_rows(team, svc.usage, days, now, page, page_size)
    total_pages = -(-total_users // page_size)
    return {
        "data": rows,
        "period": period,
        "pagination": {
            "page": page,
            "pageSize": page_size,
            "totalUsers": total_users,
            "totalPages": total_pages,
            "hasNextPage": page < total_pages,
            "hasPreviousPage": page > 1,
        },
    }


def spend(svc: TeamServices, body: dict[str, Any]) -> dict[str, Any]:
    sort_by = optional_str(body, "sortBy") or "date"
    direction = optional_str(body, "sortDirection") or "desc"
    if sort_by not in ("amount", "date", "user"):
        raise bad_request("sortBy must be one of amount, date, user")
    if direction not in ("asc", "desc"):
        raise bad_request("sortDirection must be asc or desc")
    query = SpendQuery(
        search_term=optional_str(body, "searchTerm"),
        sort_by=sort_by,  # type: ignore[arg-type]
        sort_direction=direction,  # type: ignore[arg-type]
        page=optional_int(body, "page", minimum=1) or 1,
        page_size=optional_int(body, "pageSize", minimum=1, maximum=1000) or 100,
    )
    return spend_response(svc.team, svc.ledger, query, svc.team.now_ms())


def usage_events(svc: TeamServices, body: dict[str, Any]) -> dict[str, Any]:
    team = svc.team
    now = team.now_ms()
    start, end = _date_range(body, now, 30)
    page = optional_int(body, "page", minimum=1) or 1
    page_size = optional_int(body, "pageSize", minimum=1, maximum=1000) or 100
    hosting_raw = optional_str(body, "hostingType")
    hosting = None
    if hosting_raw is not None:
        hosting = hosting_index(hosting_raw)
        if hosting is None:
            allowed = ", ".join(HOSTING_TYPES)
            raise bad_request(f"hostingType must be one of {allowed}")
    flt = EventFilter(
        start_ms=start,
        end_ms=end,
        member=_member_filter(svc, body),
        service_account=optional_str(body, "serviceAccountId"),
        cloud_agent=optional_str(body, "cloudAgentId"),
        automation=optional_str(body, "automationId"),
        hosting=hosting,
    )
    selection = svc.events.select(flt, now)
    total = selection.total
    num_pages = -(-total // page_size)
    events = serialize_events(team, selection.page((page - 1) * page_size, page_size), now)
    return {
        "totalUsageEventsCount": total,
        "pagination": {
            "numPages": num_pages,
            "currentPage": page,
            "pageSize": page_size,
            "hasNextPage": page < num_pages,
            "hasPreviousPage": page > 1,
        },
        "usageEvents": events,
        "period": {"startDate": start, "endDate": end},
    }


def _member_filter(svc: TeamServices, body: dict[str, Any]) -> int | None:
    email = optional_str(body, "email")
    user_id = optional_int(body, "userId")
    chosen: set[int] = set()
    if email is not None:
        m = svc.team.member_by_email(email)
        chosen.add(m.index if m else NO_MATCH)
    if user_id is not None:
        m = svc.team.member_by_numeric_id(user_id)
        chosen.add(m.index if m else NO_MATCH)
    if not chosen:
        return None
    # Filters are AND-combined: an email and a userId naming different people match nothing.
    return chosen.pop() if len(chosen) == 1 else NO_MATCH


def audit_logs(svc: TeamServices, params: dict[str, str]) -> dict[str, Any]:
    team = svc.team
    now = team.now_ms()
    try:
        start = (
            parse_time(params["startTime"], now) if params.get("startTime") else now - 7 * DAY_MS
        )
        end = parse_time(params["endTime"], now) if params.get("endTime") else now
    except ValueError as exc:
        raise bad_request(f"Invalid startTime or endTime: {exc}") from exc
    if start > end:
        raise bad_request("startTime must be before endTime")
    if end - start > MAX_RANGE_MS:
        raise bad_request("Date range cannot exceed 30 days")
    page = query_int(params, "page", 1, minimum=1, maximum=1_000_000)
    page_size = query_int(params, "pageSize", 100, minimum=1, maximum=500)
    types = _csv(params.get("eventTypes"))
    if types is not None and not types <= EVENT_TYPES:
        unknown = ", ".join(sorted(types - EVENT_TYPES))
        raise bad_request(f"Invalid event type(s): {unknown}")
    users = _csv(params.get("users"))
    if users is not None and len(users) > page_size:
        raise bad_request("Too many users: the maximum is pageSize")
    query = AuditQuery(
        start_ms=start,
        end_ms=end,
        event_types=types,
        search=params.get("search") or None,
        users=None if users is None else frozenset(_user_emails(svc, users)),
        page=page,
        page_size=page_size,
    )
    events, total = svc.audit.query(query, now)
    total_pages = -(-total // page_size)
    return {
        "events": events,
        "pagination": {
            "page": page,
            "pageSize": page_size,
            "totalCount": total,
            "totalPages": total_pages,
            "hasNextPage": page < total_pages,
            "hasPreviousPage": page > 1,
        },
        "params": {"teamId": team.roster.team_id, "startDate": start, "endDate": end},
    }


def _csv(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _user_emails(svc: TeamServices, users: frozenset[str]) -> set[str]:
    emails = set()
    for u in users:
        m = svc.team.member_by_user_id(u)
        if m is None and u.isdigit():
            m = svc.team.member_by_numeric_id(int(u))
        emails.add(m.email if m else u.lower())
    return emails


def _cycle(svc: TeamServices, params: dict[str, str]) -> tuple[int, int]:
    raw = params.get("billingCycle")
    now = svc.team.now_ms()
    if not raw:
        return svc.team.cycle_bounds(now)
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise bad_request("billingCycle must be a date formatted YYYY-MM-DD") from exc
    return svc.team.cycle_bounds(int(day.timestamp() * 1000))


def groups(svc: TeamServices, params: dict[str, str]) -> dict[str, Any]:
    now = svc.team.now_ms()
    return GroupsView(svc.team, svc.ledger, _cycle(svc, params), now).list_body()


def group(svc: TeamServices, group_id: str, params: dict[str, str]) -> dict[str, Any]:
    now = svc.team.now_ms()
    view = GroupsView(svc.team, svc.ledger, _cycle(svc, params), now)
    if group_id == "group_unassigned":
        body = view.unassigned_body(member_daily=True)
    else:
        found = next((g for g in svc.team.roster.groups if g.id == group_id), None)
        if found is None or found.created_ms > now:
            raise not_found("Group not found")
        body = view.group_body(found, member_daily=True)
    return {"group": body, "billingCycle": view.billing_cycle()}


def user_spend_limit(svc: TeamServices, body: dict[str, Any]) -> dict[str, Any]:
    email = body.get("userEmail")
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise CursorHTTPError(400, {"outcome": "error", "message": "Invalid email format"})
    if "spendLimitDollars" not in body:
        raise CursorHTTPError(400, {"outcome": "error", "message": "spendLimitDollars is required"})
    dollars = body["spendLimitDollars"]
    if dollars is not None and (
        isinstance(dollars, bool) or not isinstance(dollars, int) or dollars < 0
    ):
        message = "spendLimitDollars must be a whole number of dollars or null"
        raise CursorHTTPError(400, {"outcome": "error", "message": message})
    member = svc.team.member_by_email(email)
    if member is None or svc.team.is_removed(member, svc.team.now_ms()):
        raise CursorHTTPError(
            404, {"outcome": "error", "message": f"User {email} is not a member of this team"}
        )
    svc.team.set_spend_limit(member, dollars)
    if dollars is None:
        return {"outcome": "success", "message": f"Spend limit removed for user {member.email}"}
    return {
        "outcome": "success",
        "message": f"Spend limit set to ${dollars} for user {member.email}",
    }


def remove_member(svc: TeamServices, body: dict[str, Any]) -> dict[str, Any]:
    user_id, email = body.get("userId"), body.get("email")
    if user_id is None and email is None:
        raise CursorHTTPError(400, {"error": "Either userId or email must be provided"})
    if user_id is not None and email is not None:
        raise CursorHTTPError(
            400, {"error": "Only one of userId or email should be provided, not both"}
        )
    team = svc.team
    now = team.now_ms()
    if user_id is not None:
        member = team.member_by_user_id(user_id) if isinstance(user_id, str) else None
    else:
        member = team.member_by_email(email) if isinstance(email, str) else None
    if member is None or team.is_removed(member, now) or member.joined_ms > now:
        raise CursorHTTPError(404, {"error": "User is not a member of this team"})
    cycle = team.cycle_bounds(now)
    totals = svc.ledger.sum_days(cycle_days(team, cycle, now), now)
    has_usage = totals is not None and int(totals.events[member.index]) > 0
    try:
        team.remove_member(member)
    except RemovalRefusedError as exc:
        raise CursorHTTPError(400, {"error": str(exc)}) from exc
    return {"success": True, "userId": member.user_id, "hasBillingCycleUsage": has_usage}
