"""Analytics API rows (cursor-api.md §3) → :class:`ActivityCountRecord`.

Each metric's rows become counts of one neutral ``kind`` per day, keyed by what is counted
(a model, a command, ``server/tool``…). Agent edits and Tab counters go in too, as kinds
``agent_edit`` and ``completion`` keyed by the counter (``accepted``, ``accepted_lines_added``…),
so the store holds every number the team endpoints give. Totals that are sums of two other
counters (``total_lines_accepted`` = added + deleted) are left out. Conversation insights
give their per-day time series only, as counts: never any content.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

from unimeter.connectors.records import ActivityCountRecord

from .enterprise_models import InsightSlice, Row

log = logging.getLogger("unimeter.cursor")

Count = tuple[str, str, int]  # kind, key, value

# The diff counters of agent-edits and tabs, by neutral key. Green lines are added lines,
# red lines deleted ones (cursor-api.md §3.2).
_LINE_COUNTERS = {
    "suggested_lines_added": "total_green_lines_suggested",
    "suggested_lines_deleted": "total_red_lines_suggested",
    "accepted_lines_added": "total_green_lines_accepted",
    "accepted_lines_deleted": "total_red_lines_accepted",
    "rejected_lines_added": "total_green_lines_rejected",
    "rejected_lines_deleted": "total_red_lines_rejected",
}
_AGENT_EDIT_COUNTERS = {
    "suggested": "total_suggested_diffs",
    "accepted": "total_accepted_diffs",
    "rejected": "total_rejected_diffs",
    **_LINE_COUNTERS,
}
_TAB_COUNTERS = {
    "suggested": "total_suggestions",
    "accepted": "total_accepts",
    "rejected": "total_rejects",
    **_LINE_COUNTERS,
}
_DAU_COUNTERS = {
    "all": "dau",
    "cli": "cli_dau",
    "cloud_agent": "cloud_agent_dau",
    "review": "bugbot_dau",
}

# Conversation insights: the ``include`` value, the dimension field of its time series, and
# the neutral kind.
INSIGHT_SLICES: dict[str, tuple[str, str]] = {
    "intents": ("intent", "intent"),
    "complexity": ("complexity", "complexity"),
    "categories": ("category", "category"),
    "guidanceLevels": ("guidanceLevel", "guidance_level"),
    "workTypes": ("workType", "work_type"),
}


def _int(row: Row, name: str) -> int:
    value = row.get(name)
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return 0


def _name(row: Row, name: str) -> str:
    value = row.get(name)
    return str(value) if value not in (None, "") else "unknown"


def _counters(kind: str, fields: dict[str, str]) -> Callable[[Row], Iterator[Count]]:
    def counts(row: Row) -> Iterator[Count]:
        for key, name in fields.items():
            if name in row:
                yield kind, key, _int(row, name)

    return counts


def _usage(kind: str, key_field: str) -> Callable[[Row], Iterator[Count]]:
    def counts(row: Row) -> Iterator[Count]:
        yield kind, _name(row, key_field), _int(row, "usage")

    return counts


def _models(row: Row) -> Iterator[Count]:
    breakdown = row.get("model_breakdown")
    if isinstance(breakdown, dict):
        for model, numbers in breakdown.items():
            if isinstance(numbers, dict):
                yield "model_messages", str(model), _int(numbers, "messages")


def _mcp(row: Row) -> Iterator[Count]:
    yield (
        "mcp_tool",
        f"{_name(row, 'mcp_server_name')}/{_name(row, 'tool_name')}",
        _int(row, "usage"),
    )


def _client_versions(row: Row) -> Iterator[Count]:
    yield "client_version", _name(row, "client_version"), _int(row, "user_count")


def _file_extensions(row: Row) -> Iterator[Count]:
    # Lines accepted: how much AI-written code went into files of that kind.
    ext = _name(row, "file_extension").lstrip(".").lower()
    yield "file_extension", ext, _int(row, "total_lines_accepted")


# Metric (the path's last segment) → how one of its rows becomes counts.
METRICS: dict[str, Callable[[Row], Iterator[Count]]] = {
    "agent-edits": _counters("agent_edit", _AGENT_EDIT_COUNTERS),
    "tabs": _counters("completion", _TAB_COUNTERS),
    "dau": _counters("active_users", _DAU_COUNTERS),
    "client-versions": _client_versions,
    "models": _models,
    "top-file-extensions": _file_extensions,
    "mcp": _mcp,
    "commands": _usage("command", "command_name"),
    "plans": _usage("plan_mode", "model"),
    "skills": _usage("skill", "skill_name"),
    "ask-mode": _usage("ask_mode", "model"),
}
TEAM_METRICS: tuple[str, ...] = tuple(METRICS)
# There is no by-user DAU (cursor-api.md §3.6).
BY_USER_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m != "dau")


def row_day(row: Row) -> dt.date | None:
    value = row.get("event_date") or row.get("date")
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def metric_records(metric: str, rows: list[Row], user_email: str = "") -> list[ActivityCountRecord]:
    to_counts = METRICS[metric]
    out = []
    for row in rows:
        day = row_day(row)
        if day is None:
            log.warning("cursor analytics %s: a row without a date was skipped", metric)
            continue
        for kind, key, value in to_counts(row):
            out.append(ActivityCountRecord(day, kind, key, value, user_email))
    return out


def by_user_records(metric: str, data: dict[str, list[Row]]) -> list[ActivityCountRecord]:
    out = []
    for email, rows in data.items():
        out.extend(metric_records(metric, rows, email.strip().lower()))
    return out


def insight_records(data: dict[str, Any]) -> list[ActivityCountRecord]:
    """The per-day time series of each slice; distributions and top values repeat them over
    the whole range and are left out."""
    out = []
    for name, (dimension, kind) in INSIGHT_SLICES.items():
        raw = data.get(name)
        if not isinstance(raw, dict):
            continue
        for row in InsightSlice.model_validate(raw).time_series:
            day = row_day(row)
            if day is None:
                continue
            out.append(ActivityCountRecord(day, kind, _name(row, dimension), _int(row, "count")))
    return out
