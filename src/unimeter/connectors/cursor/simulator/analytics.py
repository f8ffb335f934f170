"""The Analytics API (``/analytics/team/*``, ``/analytics/by-user/*``): requests and bodies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from . import analytics_rows as rows
from .analytics_data import AnalyticsData, MemberDay
from .config import DAY_MS
from .roster import Member
from .team import SimTeam
from .validation import CursorHTTPError, bad_request, query_int

BOOL = npt.NDArray[np.bool_]
MAX_RANGE_DAYS = 30
_RELATIVE_DAYS = re.compile(r"(\d+)d")


@dataclass(frozen=True, slots=True)
class Window:
    """Whole UTC days ``first..last`` (inclusive) and the optional ``users`` filter."""

    first: int
    last: int
    users: tuple[Member, ...] | None

    def params(self, team: SimTeam, metric: str) -> dict[str, Any]:
        return {
            "metric": metric,
            "teamId": team.roster.team_id,
            "startDate": day_text(self.first),
            "endDate": day_text(self.last),
        }


def day_text(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")


def parse_day(raw: str, now_ms: int) -> int:
    """``YYYY-MM-DD``, ISO-8601 (the time is ignored), ``now``/``today``, ``yesterday``, ``<n>d``."""
    text = raw.strip().lower()
    today = now_ms // DAY_MS
    if text in ("now", "today"):
        return today
    if text == "yesterday":
        return today - 1
    relative = _RELATIVE_DAYS.fullmatch(text)
    if relative:
        return today - int(relative.group(1))
    try:
        parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid date format: {raw}") from exc
    return (parsed.date() - datetime(1970, 1, 1, tzinfo=UTC).date()).days


def window(team: SimTeam, params: dict[str, str]) -> Window:
    now = team.now_ms()
    first = parse_day(params.get("startDate") or "7d", now)
    last = parse_day(params.get("endDate") or "today", now)
    if first > last:
        raise bad_request("startDate must be before endDate")
    if last - first > MAX_RANGE_DAYS:
        raise bad_request(f"Date range cannot exceed {MAX_RANGE_DAYS} days")
    return Window(first, last, _users(team, params.get("users")))


def _users(team: SimTeam, raw: str | None) -> tuple[Member, ...] | None:
    """Emails (detected by ``@``) and ``user_…`` ids, mixed; any stranger is a 400."""
    if raw is None or not raw.strip():
        return None
    found: list[Member] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        m = team.member_by_email(part) if "@" in part else team.member_by_user_id(part)
        if m is None:
            raise bad_request("Some users are not in the team")
        if m not in found:
            found.append(m)
    return tuple(found)


def _mask(team: SimTeam, members: tuple[Member, ...] | None) -> BOOL:
    n = len(team.members)
    if members is None:
        return np.ones(n, dtype=np.bool_)
    mask = np.zeros(n, dtype=np.bool_)
    mask[[m.index for m in members]] = True
    return mask


def served_days(data: AnalyticsData, w: Window) -> list[MemberDay]:
    """Days of the window that hold data (within retention, not in the future); none for a
    team whose Enterprise data is off (``SimulatorConfig.enterprise_apis``)."""
    team = data.svc.team
    if not team.config.enterprise_apis:
        return []
    now = team.now_ms()
    floor = max(team.retention_start_ms(now), team.enterprise_start_ms) // DAY_MS
    return [data.day(d, now) for d in range(max(w.first, floor), min(w.last, now // DAY_MS) + 1)]


def team_metric(data: AnalyticsData, metric: str, params: dict[str, str]) -> dict[str, Any]:
    team = data.svc.team
    w = window(team, params)
    mask = _mask(team, w.users)
    fn = rows.METRICS[metric]
    out = [row for md in served_days(data, w) for row in fn(md, mask, day_text(md.day))]
    return {"data": out, "params": w.params(team, rows.ECHOED.get(metric, metric))}


def _paging(params: dict[str, str], default: int) -> tuple[int, int]:
    page = query_int(params, "page", 1, minimum=1, maximum=1_000_000)
    return page, query_int(params, "pageSize", default, minimum=1, maximum=500)


def _pagination(page: int, page_size: int, total: int) -> dict[str, Any]:
    pages = -(-total // page_size)
    return {
        "page": page,
        "pageSize": page_size,
        "totalUsers": total,
        "totalPages": pages,
        "hasNextPage": page < pages,
        "hasPreviousPage": page > 1,
    }


def members_in(team: SimTeam, w: Window) -> list[Member]:
    """Members at any time during the window (or the ``users`` asked for), by email."""
    start, end = w.first * DAY_MS, (w.last + 1) * DAY_MS
    if w.users is not None:
        return sorted(w.users, key=lambda m: m.email)
    present = [
        m
        for m in team.members
        if m.joined_ms < end and (m.removed_ms is None or m.removed_ms > start)
    ]
    return sorted(present, key=lambda m: m.email)


def by_user_metric(data: AnalyticsData, metric: str, params: dict[str, str]) -> dict[str, Any]:
    team = data.svc.team
    w = window(team, params)
    page, page_size = _paging(params, 100)
    people = members_in(team, w)
    chosen = people[(page - 1) * page_size : page * page_size]
    days = served_days(data, w)
    fn = rows.METRICS[metric]
    body: dict[str, Any] = {}
    for m in chosen:
        mask = _mask(team, (m,))
        body[m.email] = [
            r for md in days if md.active[m.index] for r in fn(md, mask, day_text(md.day))
        ]
    params_out = w.params(team, rows.ECHOED.get(metric, metric))
    params_out.update(
        page=page,
        pageSize=page_size,
        userMappings=[{"id": m.user_id, "email": m.email} for m in chosen],
    )
    return {
        "data": body,
        "pagination": _pagination(page, page_size, len(people)),
        "params": params_out,
    }


def _ratio(num: int, den: int) -> float:
    return round(num / den, 4) if den else 0.0


def leaderboard(data: AnalyticsData, params: dict[str, str]) -> dict[str, Any]:
    team = data.svc.team
    w = window(team, params)
    page, page_size = _paging(params, 10)
    days = served_days(data, w)
    active = np.zeros(len(team.members), dtype=np.bool_)
    for md in days:
        active |= md.active
    ranked = [m for m in sorted(team.members, key=lambda m: m.email) if active[m.index]]
    boards = {}
    for name, totals in (("tab", rows.tab_totals), ("agent", rows.agent_totals)):
        entries = [_entry(m, name, [totals(md, _mask(team, (m,))) for md in days]) for m in ranked]
        entries.sort(key=lambda e: (-e["total_lines_accepted"], e["email"]))
        for rank, e in enumerate(entries, start=1):
            e["rank"] = rank  # team-wide, even when ``users`` narrows the list
        if w.users is not None:
            wanted = {m.email for m in w.users}
            entries = [e for e in entries if e["email"] in wanted]
        boards[f"{name}_leaderboard"] = {
            "data": entries[(page - 1) * page_size : page * page_size],
            "total_users": len(entries),
        }
    total = len(ranked) if w.users is None else len(w.users)
    params_out = w.params(team, "leaderboard")
    params_out.update(page=page, pageSize=page_size)
    return {"data": boards, "pagination": _pagination(page, page_size, total), "params": params_out}


def _entry(m: Member, board: str, per_day: list[dict[str, int]]) -> dict[str, Any]:
    def total(name: str) -> int:
        return sum(d[name] for d in per_day)

    accepts_key = "total_accepts" if board == "tab" else "total_accepted_diffs"
    entry: dict[str, Any] = {
        "email": m.email,
        "user_id": m.user_id,
        "profile_picture_url": None,
        "total_accepts": total(accepts_key),
        "total_lines_accepted": total("total_lines_accepted"),
        "total_lines_suggested": total("total_lines_suggested"),
        "line_acceptance_ratio": _ratio(
            total("total_lines_accepted"), total("total_lines_suggested")
        ),
    }
    if board == "tab":
        entry["accept_ratio"] = _ratio(total("total_accepts"), total("total_suggestions"))
    return entry


def insights_disabled() -> CursorHTTPError:
    """What an Enterprise team gets once an admin turned Conversation Insights off."""
    body = {
        "error": "Unauthorized",
        "message": "Conversation Insights is not enabled for this team",
    }
    return CursorHTTPError(401, body)
