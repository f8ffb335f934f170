"""The AI Code Tracking API (``/analytics/ai-code/*``): query, JSON and CSV shapes.

The order of items is not documented; the simulator serves newest first (by ``commitTs``
for commits, ``createdAt`` for changes), like the Admin API's usage events.
"""

from __future__ import annotations

import csv
import io
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson

from .catalog import FILE_EXTENSIONS, MODELS
from .codegen import SOURCES, CodeDay, Commit, generate_code_day, privacy_mode
from .config import DAY_MS
from .rng import mix64, uuid_from
from .roster import Member
from .team import SimTeam
from .validation import bad_request, query_int

MAX_PAGE_SIZE = 1000
COMMIT_COLUMNS = (
    # The documented sample puts commit_source second; clients must parse by header name.
    "commit_hash", "commit_source", "user_id", "user_email", "repo_name", "branch_name",
    "is_primary_branch", "total_lines_added", "total_lines_deleted", "tab_lines_added",
    "tab_lines_deleted", "composer_lines_added", "composer_lines_deleted",
    "non_ai_lines_added", "non_ai_lines_deleted", "message", "commit_ts", "created_at",
)  # fmt: skip
CHANGE_COLUMNS = (
    "change_id", "user_id", "user_email", "source", "model", "total_lines_added",
    "total_lines_deleted", "created_at", "metadata_json",
)  # fmt: skip
_RELATIVE_DAYS = re.compile(r"(\d+)d")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class CodeQuery:
    start_ms: int
    end_ms: int
    member: int | None = None
    page: int = 1
    page_size: int = 100


class AICode:
    """Per-team generated code days, cached (they do not depend on "now")."""

    def __init__(self, team: SimTeam, *, enabled: bool = True) -> None:
        self.team = team
        self.enabled = enabled  # off: a team that does not track its code (no commits)
        self._days: OrderedDict[tuple[int, int], CodeDay] = OrderedDict()

    def day(self, day: int) -> CodeDay:
        key = (self.team.data_version, day)
        found = self._days.get(key)
        if found is None:
            found = generate_code_day(self.team, day)
            self._days[key] = found
            if len(self._days) > 400:
                self._days.popitem(last=False)
        else:
            self._days.move_to_end(key)
        return found

    def days(self, start_ms: int, end_ms: int, now_ms: int, *, retention: bool = True) -> list[int]:
        """Days overlapping ``[start, end]``, newest first."""
        if not self.enabled:
            return []
        floor = self.team.retention_start_ms(now_ms) if retention else self.team.history_start_ms
        floor = max(floor, self.team.enterprise_start_ms)
        first, last = max(start_ms, floor), min(end_ms, now_ms)
        if first > last:
            return []
        return list(range(last // DAY_MS, first // DAY_MS - 1, -1))

    def commits(self, q: CodeQuery, now_ms: int, *, retention: bool = True) -> list[Commit]:
        out: list[Commit] = []
        for d in self.days(q.start_ms, q.end_ms, now_ms, retention=retention):
            out.extend(
                c
                for c in self.day(d).commits
                if c.created <= now_ms
                and q.start_ms <= c.commit_ts <= q.end_ms
                and (q.member is None or c.user == q.member)
            )
        return out

    def changes(
        self, q: CodeQuery, now_ms: int, *, retention: bool = True
    ) -> list[tuple[CodeDay, int]]:
        """Matching changes as (day, index) pairs, newest first."""
        out: list[tuple[CodeDay, int]] = []
        hi = min(q.end_ms, now_ms)
        for d in self.days(q.start_ms, q.end_ms, now_ms, retention=retention):
            code = self.day(d)
            ch = code.changes
            mask = (ch.created >= q.start_ms) & (ch.created <= hi)
            if q.member is not None:
                mask &= ch.user == q.member
            out.extend((code, int(i)) for i in np.flatnonzero(mask)[::-1])
        return out


# -- request parsing --------------------------------------------------------------------------


def parse_code_time(raw: str, now_ms: int, *, end: bool) -> int:
    """``now``, ``<n>d`` (days before now), an ISO date (a bare ``endDate`` covers that whole
    day) or an ISO date-time."""
    text = raw.strip()
    if text.lower() == "now":
        return now_ms
    relative = _RELATIVE_DAYS.fullmatch(text.lower())
    if relative:
        return now_ms - int(relative.group(1)) * DAY_MS
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid date {raw!r}: use ISO 8601, 'now' or '<n>d'") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    return ms + DAY_MS - 1 if end and _DATE_ONLY.fullmatch(text) else ms


def code_query(team: SimTeam, params: dict[str, str], *, paged: bool) -> CodeQuery:
    now = team.now_ms()
    start = parse_code_time(params.get("startDate") or "7d", now, end=False)
    end = parse_code_time(params.get("endDate") or "now", now, end=True)
    if start > end:
        raise bad_request("startDate must be before endDate")
    member = None
    raw_user = (params.get("user") or "").strip()
    if raw_user:
        found = resolve_user(team, raw_user)
        if found is None:
            raise bad_request(f"User not found in team: {raw_user}")
        member = found.index
    if not paged:
        return CodeQuery(start, end, member)
    return CodeQuery(
        start_ms=start,
        end_ms=end,
        member=member,
        page=query_int(params, "page", 1, minimum=1, maximum=10_000_000),
        page_size=query_int(params, "pageSize", 100, minimum=1, maximum=MAX_PAGE_SIZE),
    )


def resolve_user(team: SimTeam, raw: str) -> Member | None:
    """One user given as an email, a ``user_…`` id or a numeric id."""
    if "@" in raw:
        return team.member_by_email(raw)
    if raw.startswith("user_"):
        return team.member_by_user_id(raw)
    if raw.isdigit():
        return team.member_by_numeric_id(int(raw))
    return None


# -- shapes -----------------------------------------------------------------------------------


def iso(ms: int) -> str:
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def commit_item(team: SimTeam, c: Commit) -> dict[str, Any]:
    m = team.members[c.user]
    ai_added = c.tab_added + c.composer_added
    ai_deleted = c.tab_deleted + c.composer_deleted
    return {
        "commitHash": c.hash,
        "userId": m.user_id,
        "userEmail": m.email,
        "repoName": c.repo,
        "branchName": c.branch,
        "isPrimaryBranch": c.primary,
        "commitSource": c.source,
        "totalLinesAdded": ai_added + c.non_ai_added,
        "totalLinesDeleted": ai_deleted + c.non_ai_deleted,
        "tabLinesAdded": c.tab_added,
        "tabLinesDeleted": c.tab_deleted,
        "composerLinesAdded": c.composer_added,
        "composerLinesDeleted": c.composer_deleted,
        "nonAiLinesAdded": None if c.non_ai_null else c.non_ai_added,
        "nonAiLinesDeleted": None if c.non_ai_null else c.non_ai_deleted,
        "message": c.message,
        "commitTs": iso(c.commit_ts),
        "createdAt": iso(c.created),
    }


def change_id(key: int) -> str:
    return uuid_from(mix64(key + 11), mix64(key + 12))


def change_item(team: SimTeam, code: CodeDay, i: int) -> dict[str, Any]:
    ch = code.changes
    u = int(ch.user[i])
    m = team.members[u]
    model = int(ch.model[i])
    added, deleted = int(ch.added[i]), int(ch.deleted[i])
    return {
        "changeId": change_id(int(ch.key[i])),
        "userId": m.user_id,
        "userEmail": m.email,
        "source": SOURCES[int(ch.source[i])],
        "model": MODELS[model].id if model >= 0 else None,
        "totalLinesAdded": added,
        "totalLinesDeleted": deleted,
        "createdAt": iso(int(ch.created[i])),
        "metadata": _metadata(team, u, int(ch.key[i]), int(ch.ext[i]), int(ch.files[i]), added,
                              deleted),
    }  # fmt: skip


def _metadata(
    team: SimTeam, u: int, key: int, ext: int, files: int, added: int, deleted: int
) -> list[dict[str, Any]]:
    """Per-file lines (summing to the change's); no ``fileName`` in privacy mode."""
    extension = FILE_EXTENSIONS[ext].lstrip(".")
    hidden = team.config.quirks.privacy_mode and privacy_mode(team, u)
    out: list[dict[str, Any]] = []
    for f in range(files):
        last = f == files - 1
        share_a = added if last else added // files
        share_d = deleted if last else deleted // files
        added, deleted = added - share_a, deleted - share_d
        entry: dict[str, Any] = {}
        if not hidden:
            entry["fileName"] = _file_name(key + f, extension)
        entry.update(fileExtension=extension, linesAdded=share_a, linesDeleted=share_d)
        out.append(entry)
    return out


_DIRS = ("src", "src/api", "src/core", "lib", "app/components", "services", "tests")
_STEMS = ("handler", "client", "models", "utils", "routes", "config", "service", "index")


def _file_name(key: int, extension: str) -> str:
    h = mix64(key)
    return f"{_DIRS[h % len(_DIRS)]}/{_STEMS[(h >> 8) % len(_STEMS)]}.{extension}"


def page_body(items: list[dict[str, Any]], total: int, q: CodeQuery) -> dict[str, Any]:
    return {"items": items, "totalCount": total, "page": q.page, "pageSize": q.page_size}


def commits_response(svc: AICode, params: dict[str, str]) -> dict[str, Any]:
    team = svc.team
    q = code_query(team, params, paged=True)
    found = svc.commits(q, team.now_ms())
    chosen = found[(q.page - 1) * q.page_size : q.page * q.page_size]
    return page_body([commit_item(team, c) for c in chosen], len(found), q)


def changes_response(svc: AICode, params: dict[str, str]) -> dict[str, Any]:
    team = svc.team
    q = code_query(team, params, paged=True)
    found = svc.changes(q, team.now_ms())
    chosen = found[(q.page - 1) * q.page_size : q.page * q.page_size]
    return page_body([change_item(team, code, i) for code, i in chosen], len(found), q)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _write_csv(columns: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[_csv_value(v) for v in row] for row in rows])
    return buffer.getvalue().encode()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def commits_csv(svc: AICode, params: dict[str, str]) -> bytes:
    team = svc.team
    q = code_query(team, params, paged=False)
    rows = []
    for c in svc.commits(q, team.now_ms()):
        item = {_snake(k): v for k, v in commit_item(team, c).items()}
        rows.append([item[col] for col in COMMIT_COLUMNS])
    return _write_csv(COMMIT_COLUMNS, rows)


def changes_csv(svc: AICode, params: dict[str, str]) -> bytes:
    team = svc.team
    q = code_query(team, params, paged=False)
    rows = []
    for code, i in svc.changes(q, team.now_ms()):
        item = change_item(team, code, i)
        metadata = orjson.dumps(item.pop("metadata")).decode()
        snake = {_snake(k): v for k, v in item.items()}
        snake["metadata_json"] = metadata
        rows.append([snake[col] for col in CHANGE_COLUMNS])
    return _write_csv(CHANGE_COLUMNS, rows)
