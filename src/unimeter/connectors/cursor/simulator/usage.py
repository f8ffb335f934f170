"""Per-member daily usage rows (``POST /teams/daily-usage-data``).

Event-derived counters come from the same events the usage-events endpoint serves, so for
every member and day ``subscriptionIncludedReqs + usageBasedReqs + apiKeyReqs`` equals the
number of that member's visible events that day.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from .activity import MAX_ARRIVAL_LAG_MS
from .catalog import (
    CLIENT_VERSIONS,
    FILE_EXTENSIONS,
    KIND_USAGE_BASED,
    KIND_USER_API_KEY,
    MODELS,
)
from .config import DAY_MS
from .team import SimTeam

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class DayStats:
    """Everything a daily-usage row needs, as arrays over members."""

    day: int
    in_row: BOOL  # a row exists: a member that day, or usage attributed to them that day
    active: BOOL
    included: I64
    usage_based: I64
    api_key: I64
    cli: I64
    most_used_model: I64  # -1 = none
    metrics: dict[str, I64]


_METRIC_FIELDS = (
    ("totalLinesAdded", "lines_added"),
    ("totalLinesDeleted", "lines_deleted"),
    ("acceptedLinesAdded", "accepted_lines_added"),
    ("acceptedLinesDeleted", "accepted_lines_deleted"),
    ("totalApplies", "applies"),
    ("totalAccepts", "accepts"),
    ("totalRejects", "rejects"),
    ("totalTabsShown", "tabs_shown"),
    ("totalTabsAccepted", "tabs_accepted"),
)


class UsageStats:
    def __init__(self, team: SimTeam) -> None:
        self.team = team
        self._cache: OrderedDict[tuple[int, int, int | None], DayStats] = OrderedDict()

    def day_stats(self, day: int, now_ms: int) -> DayStats:
        settled = (day + 1) * DAY_MS + MAX_ARRIVAL_LAG_MS <= now_ms
        key = (self.team.data_version, day, None if settled else now_ms)
        found = self._cache.get(key)
        if found is None:
            found = self._compute(day, now_ms)
            self._cache[key] = found
            if len(self._cache) > 400:
                self._cache.popitem(last=False)
        return found

    def _compute(self, day: int, now_ms: int) -> DayStats:
        team = self.team
        n = len(team.members)
        generated = team.day(day)
        ev, act = generated.events, generated.activity
        visible = np.flatnonzero(ev.visible_at <= now_ms)
        users, kinds = ev.user[visible].astype(np.int64), ev.kind[visible]

        def count(selected: BOOL) -> I64:
            return np.bincount(users[selected], minlength=n).astype(np.int64)

        usage_based = count(kinds == KIND_USAGE_BASED)
        api_key = count(kinds == KIND_USER_API_KEY)
        total = count(np.ones(users.shape[0], dtype=np.bool_))
        cli = count(ev.headless[visible] & (ev.cloud_agent[visible] == 0))
        by_model = np.bincount(users * len(MODELS) + ev.model[visible], minlength=n * len(MODELS))
        most_used = np.where(total > 0, by_model.reshape(n, len(MODELS)).argmax(axis=1), -1)
        member = team.member_during_day(day)
        has_events = total > 0
        # Today's counters only cover the hours that have been aggregated so far.
        fraction = min(1.0, max(0.0, (now_ms - day * DAY_MS) / DAY_MS))
        metrics = {
            api_name: (getattr(act, attr) * member * fraction).astype(np.int64)
            for api_name, attr in _METRIC_FIELDS
        }
        metrics["bugbotUsages"] = (act.bugbot * member * fraction).astype(np.int64)
        return DayStats(
            day=day,
            in_row=member | has_events,
            active=(act.active & member) | has_events,
            included=total - usage_based - api_key,
            usage_based=usage_based,
            api_key=api_key,
            cli=cli,
            most_used_model=most_used.astype(np.int64),
            metrics=metrics,
        )


def day_range(
    team: SimTeam, start_ms: int, end_ms: int, now_ms: int, *, retention: bool = True
) -> list[int]:
    floor = team.retention_start_ms(now_ms) if retention else team.history_start_ms
    first = max(start_ms, floor)
    last = min(end_ms, now_ms)
    if first > last:
        return []
    return list(range(first // DAY_MS, last // DAY_MS + 1))


def build_row(team: SimTeam, stats: DayStats, u: int, *, with_active: bool) -> dict[str, Any]:
    member = team.members[u]
    b = team.roster.behaviour
    day = stats.day
    active = bool(stats.active[u])
    total = int(stats.included[u] + stats.usage_based[u] + stats.api_key[u])
    shares = (b.chat_share[u], b.composer_share[u], b.cmdk_share[u])
    chat, composer, cmdk = (int(total * s) for s in shares)
    row: dict[str, Any] = {
        "userId": member.numeric_id,
        "day": datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d"),
        "date": day * DAY_MS,
        "email": member.email,
    }
    if with_active:
        row["isActive"] = active
    for api_name, _ in _METRIC_FIELDS:
        row[api_name] = int(stats.metrics[api_name][u])
    row.update(
        composerRequests=composer,
        chatRequests=chat,
        agentRequests=total - chat - composer - cmdk,
        cmdkUsages=cmdk,
        subscriptionIncludedReqs=int(stats.included[u]),
        apiKeyReqs=int(stats.api_key[u]),
        usageBasedReqs=int(stats.usage_based[u]),
        bugbotUsages=int(stats.metrics["bugbotUsages"][u]),
        mostUsedModel=MODELS[int(stats.most_used_model[u])].id
        if stats.most_used_model[u] >= 0
        else None,
        applyMostUsedExtension=(
            FILE_EXTENSIONS[int(b.apply_extension[u])] if row["totalApplies"] else None
        ),
        tabMostUsedExtension=(
            FILE_EXTENSIONS[int(b.tab_extension[u])] if row["totalTabsShown"] else None
        ),
        clientVersion=client_version(team, day, u) if active else None,
    )
    if team.config.quirks.extra_fields:
        row["cliRequests"] = int(stats.cli[u])
    return row


def client_version(team: SimTeam, day: int, u: int) -> str:
    newest = len(CLIENT_VERSIONS) - 1
    age = (team.clock.start_ms // DAY_MS - day) // 21
    offset = int(team.roster.behaviour.version_offset[u])
    return CLIENT_VERSIONS[max(0, min(newest, newest - age - offset))]


def active_rows(
    team: SimTeam, stats: UsageStats, days: list[int], now_ms: int
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for day in days:
        s = stats.day_stats(day, now_ms)
        rows.extend(build_row(team, s, int(u), with_active=False) for u in np.flatnonzero(s.active))
    return rows


def paged_rows(
    team: SimTeam, stats: UsageStats, days: list[int], now_ms: int, page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """Rows of the ``page``-th slice of members; returns the rows and the member total."""
    per_day = [stats.day_stats(day, now_ms) for day in days]
    present = np.zeros(len(team.members), dtype=np.bool_)
    for s in per_day:
        present |= s.in_row
    users = np.flatnonzero(present)
    chosen = users[(page - 1) * page_size : page * page_size]
    rows = [
        build_row(team, s, int(u), with_active=True) for u in chosen for s in per_day if s.in_row[u]
    ]
    return rows, int(users.shape[0])
