"""Per-member, per-day numbers behind the Analytics API, from the data the Admin API serves.

- counts (tabs shown/accepted, applies, accepts, rejects, bugbot) are the daily usage
  counters themselves (``UsageStats``), so team sums equal the Admin API's;
- accepted lines are the AI Code Tracking changes visible at "now";
- models, MCP tools, commands, plans, skills and ask mode come from the visible usage
  events (each event's identity decides which features it used);
- active members are the daily usage's active members (DAU), with their event surfaces.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .activity import MAX_ARRIVAL_LAG_MS
from .catalog import CLIENT_VERSIONS, FILE_EXTENSIONS, MODELS
from .codegen import SOURCE_COMPOSER, SOURCE_TAB
from .config import DAY_MS
from .rng import mix64_array
from .usage import client_version

if TYPE_CHECKING:
    from .world import TeamServices

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]

MCP_TOOLS: tuple[tuple[str, str], ...] = (
    ("github", "create_pull_request"), ("github", "search_issues"), ("linear", "create_issue"),
    ("linear", "list_issues"), ("sentry", "get_issue_details"), ("postgres", "query"),
    ("filesystem", "read_file"),
)  # fmt: skip
COMMANDS = ("review", "explain", "fix-lint", "write-tests", "summarize-pr")
SKILLS = ("frontend-design", "db-migrations", "release-notes", "incident-triage")
# Share of events (in percent) that used each feature.
_MCP_PCT, _COMMAND_PCT, _PLAN_PCT, _SKILL_PCT, _ASK_PCT = 12, 6, 8, 4, 15
# Analytics spells model names its own way (cursor-api.md §9.2) and calls Auto ``default``.
_ANALYTICS_NAMES = {"claude-4.5-sonnet": "claude-sonnet-4.5", "auto": "default"}
ANALYTICS_MODELS = tuple(_ANALYTICS_NAMES.get(m.id, m.id) for m in MODELS)


@dataclass(frozen=True, slots=True)
class MemberDay:
    """One day's analytics inputs as arrays over members (matrices: members by labels)."""

    day: int
    active: BOOL
    cli: BOOL
    cloud_agent: BOOL
    bugbot: BOOL
    version: I64  # index into CLIENT_VERSIONS, -1 when inactive
    counts: dict[str, I64]  # tabs_shown, tabs_accepted, applies, accepts, rejects
    lines: dict[str, I64]  # tab_added, tab_deleted, composer_added, composer_deleted
    models: I64  # messages per model
    ext_changes: I64  # per FILE_EXTENSIONS: changes, files, accepted lines
    ext_files: I64
    ext_lines: I64
    mcp: I64
    commands: I64
    plans: I64  # per model
    skills: I64
    ask: I64  # per model


_COUNT_FIELDS = (
    ("tabs_shown", "totalTabsShown"),
    ("tabs_accepted", "totalTabsAccepted"),
    ("applies", "totalApplies"),
    ("accepts", "totalAccepts"),
    ("rejects", "totalRejects"),
)


class AnalyticsData:
    def __init__(self, svc: TeamServices) -> None:
        self.svc = svc
        self._cache: OrderedDict[tuple[int, int, int | None], MemberDay] = OrderedDict()

    def day(self, day: int, now_ms: int) -> MemberDay:
        settled = (day + 1) * DAY_MS + MAX_ARRIVAL_LAG_MS <= now_ms
        key = (self.svc.team.data_version, day, None if settled else now_ms)
        found = self._cache.get(key)
        if found is None:
            found = self._compute(day, now_ms)
            self._cache[key] = found
            if len(self._cache) > 200:
                self._cache.popitem(last=False)
        return found

    def _compute(self, day: int, now_ms: int) -> MemberDay:
        team = self.svc.team
        n = len(team.members)
        stats = self.svc.usage.day_stats(day, now_ms)
        ev = team.day(day).events
        seen = np.flatnonzero(ev.visible_at <= now_ms)
        users = ev.user[seen].astype(np.int64)
        model = ev.model[seen].astype(np.int64)
        h = mix64_array(ev.uid[seen].astype(np.uint64) + np.uint64(0xA11))

        def matrix(picked: BOOL, label: I64, size: int) -> I64:
            flat = users[picked] * size + label[picked]
            return np.bincount(flat, minlength=n * size).reshape(n, size).astype(np.int64)

        def pct(shift: int, share: int) -> BOOL:
            picked: BOOL = ((h >> np.uint64(shift)) % np.uint64(100)).astype(np.int64) < share
            return picked

        def pick(shift: int, size: int) -> I64:
            return ((h >> np.uint64(shift)) % np.uint64(size)).astype(np.int64)

        everyone = np.ones(users.shape[0], dtype=np.bool_)
        cloud = np.bincount(users[ev.cloud_agent[seen] != 0], minlength=n) > 0
        active = stats.active.copy()
        lines, ext_changes, ext_files, ext_lines = self._code_lines(day, now_ms, n)
        return MemberDay(
            day=day,
            active=active,
            cli=stats.cli > 0,
            cloud_agent=cloud,
            bugbot=stats.metrics["bugbotUsages"] > 0,
            version=np.array(
                [
                    _version_index(client_version(team, day, u)) if active[u] else -1
                    for u in range(n)
                ],
                dtype=np.int64,
            ),
            counts={name: stats.metrics[api] for name, api in _COUNT_FIELDS},
            lines=lines,
            ext_changes=ext_changes,
            ext_files=ext_files,
            ext_lines=ext_lines,
            models=matrix(everyone, model, len(MODELS)),
            mcp=matrix(pct(0, _MCP_PCT), pick(8, len(MCP_TOOLS)), len(MCP_TOOLS)),
            commands=matrix(pct(16, _COMMAND_PCT), pick(24, len(COMMANDS)), len(COMMANDS)),
            plans=matrix(pct(32, _PLAN_PCT), model, len(MODELS)),
            skills=matrix(pct(40, _SKILL_PCT), pick(48, len(SKILLS)), len(SKILLS)),
            ask=matrix(pct(56, _ASK_PCT), model, len(MODELS)),
        )

    def _code_lines(self, day: int, now_ms: int, n: int) -> tuple[dict[str, I64], I64, I64, I64]:
        ch = self.svc.aicode.day(day).changes
        seen = ch.created <= now_ms
        users, source, ext = ch.user[seen], ch.source[seen], ch.ext[seen]
        added, deleted, files = ch.added[seen], ch.deleted[seen], ch.files[seen]

        def per_member(src: int, values: I64) -> I64:
            picked = source == src
            return np.bincount(users[picked], weights=values[picked], minlength=n).astype(np.int64)

        size = len(FILE_EXTENSIONS)

        def per_ext(weights: I64 | None) -> I64:
            flat = users * size + ext
            out = np.bincount(flat, weights=weights, minlength=n * size)
            return out.reshape(n, size).astype(np.int64)

        lines = {
            "tab_added": per_member(SOURCE_TAB, added),
            "tab_deleted": per_member(SOURCE_TAB, deleted),
            "composer_added": per_member(SOURCE_COMPOSER, added),
            "composer_deleted": per_member(SOURCE_COMPOSER, deleted),
        }
        return lines, per_ext(None), per_ext(files), per_ext(added + deleted)


def _version_index(version: str) -> int:
    return CLIENT_VERSIONS.index(version)
