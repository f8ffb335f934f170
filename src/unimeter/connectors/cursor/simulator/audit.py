"""Audit log events (``GET /teams/audit-logs``), consistent with the membership history.

Membership events (``add_user``, ``remove_user``, ``update_user_role``, ``user_spend_limit``)
come from the roster's histories; logins follow the days members were active; changes made
through the API (remove-member, user-spend-limit) are appended as they happen.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import DAY_MS, MINUTE_MS
from .groups import iso_ms
from .rng import mix64, stable_int, token_string
from .team import AuditRecord, SimTeam

EVENT_TYPES: frozenset[str] = frozenset(
    [
        "login",
        "logout",
        "add_user",
        "remove_user",
        "update_user_role",
        "team_settings",
        "mcp_server_config",
        "team_api_key",
        "user_api_key",
        "privacy_mode",
        "user_spend_limit",
        "team_rule",
        "team_repo",
        "team_hook",
        "team_command",
        "create_directory_group",
        "delete_directory_group",
        "update_directory_group",
        "update_directory_group_permissions",
        "add_user_to_directory_group",
        "remove_user_from_directory_group",
        "bugbot_installation",
        "bugbot_installation_settings",
        "bugbot_repo_settings",
        "bugbot_team_rule",
        "bugbot_team_settings",
        "bugbot_bulk_repo_update",
        "grok_bot_created",
        "grok_bot_access_changed",
        "grok_bot_team_setup_manifest",
        "mcp_authentication",
        "slack_account_link",
        "grok_bot_routine",
    ]
)
_USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Cursor/2.3.1 Chrome/132.0"
_SETTINGS_EVENTS = (
    "team_settings",
    "privacy_mode",
    "team_api_key",
    "mcp_server_config",
    "team_rule",
)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    start_ms: int
    end_ms: int
    event_types: frozenset[str] | None = None
    search: str | None = None
    users: frozenset[str] | None = None  # lower-cased emails (ids are resolved to emails)
    page: int = 1
    page_size: int = 100


class AuditLog:
    def __init__(self, team: SimTeam) -> None:
        self.team = team
        self._by_day = self._history_by_day()
        self._cache: OrderedDict[tuple[int, int], list[AuditRecord]] = OrderedDict()

    def _history_by_day(self) -> dict[int, list[AuditRecord]]:
        team = self.team
        owner = team.members[0].email
        records: list[AuditRecord] = []
        for m in team.members:
            method = ("invite", "manual", "scim")[m.index % 3]
            records.append(
                _rec(m.joined_ms, "add_user", owner, {"email": m.email, "method": method})
            )
            if m.removed_ms is not None:
                records.append(_rec(m.removed_ms, "remove_user", owner, {"email": m.email}))
            for when, old, new in m.role_changes:
                data: dict[str, Any] = {"email": m.email, "oldRole": old, "newRole": new}
                records.append(_rec(when, "update_user_role", owner, data))
            if m.spend_limit_set_ms is not None:
                data = {"email": m.email, "spendLimitDollars": m.spend_limit_dollars}
                records.append(_rec(m.spend_limit_set_ms, "user_spend_limit", owner, data))
        start_day = team.roster.created_ms // DAY_MS
        for day in range(start_day, team.clock.start_ms // DAY_MS + 1):
            h = mix64(stable_int(team.salt, "settings", day))
            if h % 9 == 0:
                kind = _SETTINGS_EVENTS[(h >> 8) % len(_SETTINGS_EVENTS)]
                when = day * DAY_MS + (h >> 20) % DAY_MS
                records.append(_rec(when, kind, owner, {"setting": kind, "changed": True}))
        by_day: dict[int, list[AuditRecord]] = {}
        for r in records:
            by_day.setdefault(r.ts_ms // DAY_MS, []).append(r)
        return by_day

    def day_records(self, day: int) -> list[AuditRecord]:
        key = (self.team.data_version, day)
        found = self._cache.get(key)
        if found is not None:
            return found
        records = list(self._by_day.get(day, []))
        activity = self.team.day(day).activity
        member = self.team.member_during_day(day)
        for u in np.flatnonzero(activity.logins & member):
            m = self.team.members[int(u)]
            ts = day * DAY_MS + int(activity.login_minute[u]) * MINUTE_MS + int(u) % 60_000
            if m.is_member_at(ts):
                ip = f"198.51.100.{int(u) % 250 + 1}"
                data = {"ip_address": ip, "user_agent": _USER_AGENT}
                records.append(_rec(ts, "login", m.email, data, ip=ip))
        self._cache[key] = records
        if len(self._cache) > 200:
            self._cache.popitem(last=False)
        return records

    def query(
        self, q: AuditQuery, now_ms: int, *, retention: bool = True
    ) -> tuple[list[dict[str, Any]], int]:
        floor = self.team.retention_start_ms(now_ms) if retention else self.team.history_start_ms
        start = max(q.start_ms, floor)
        end = min(q.end_ms, now_ms)
        found: list[AuditRecord] = []
        if start <= end:
            for day in range(start // DAY_MS, end // DAY_MS + 1):
                found.extend(r for r in self.day_records(day) if start <= r.ts_ms <= end)
            found.extend(r for r in self.team.audit_mutations if start <= r.ts_ms <= end)
        found = [r for r in found if _matches(r, q)]
        found.sort(key=lambda r: (r.ts_ms, r.key), reverse=True)
        chosen = found[(q.page - 1) * q.page_size : q.page * q.page_size]
        return [self._serialize(r) for r in chosen], len(found)

    def _serialize(self, r: AuditRecord) -> dict[str, Any]:
        body: dict[str, Any] = {
            "event_id": "evt_"
            + token_string(
                16,
                self.team.salt,
                r.ts_ms,
                r.event_type,
                r.actor_email,
                r.key,
                json.dumps(r.event_data, sort_keys=True),
            ),
            "timestamp": iso_ms(r.ts_ms),
        }
        if r.ip_address is not None:
            body["ip_address"] = r.ip_address
        body["user_email"] = r.actor_email
        body["event_type"] = r.event_type
        # Rows recorded before the field existed carry an empty application type.
        old = r.ts_ms < self.team.clock.start_ms - 60 * DAY_MS
        body["application_type"] = "" if old else "cursor"
        body["event_data"] = r.event_data
        return body


def _rec(
    ts: int, kind: str, actor: str, data: dict[str, Any], *, ip: str | None = None
) -> AuditRecord:
    return AuditRecord(
        ts_ms=ts,
        event_type=kind,
        actor_email=actor,
        event_data=data,
        ip_address=ip,
        key=mix64(ts) & 0xFFFF,
    )


def _matches(r: AuditRecord, q: AuditQuery) -> bool:
    if q.event_types is not None and r.event_type not in q.event_types:
        return False
    if q.users is not None and r.actor_email.lower() not in q.users:
        return False
    if q.search:
        haystack = f"{r.actor_email} {r.event_type} {json.dumps(r.event_data)}".lower()
        return q.search.lower() in haystack
    return True
