"""Rows of the Analytics metrics for one day over a set of members (snake_case fields).

Rejected and suggested line counts are not generated anywhere else; they follow fixed
ratios of the rejected and pending suggestions, so they are stable and self-consistent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .analytics_data import ANALYTICS_MODELS, COMMANDS, MCP_TOOLS, SKILLS, MemberDay
from .catalog import CLIENT_VERSIONS, FILE_EXTENSIONS

BOOL = npt.NDArray[np.bool_]
RowsFn = Callable[[MemberDay, BOOL, str], list[dict[str, Any]]]
TOP_EXTENSIONS = 5


def _sum(values: npt.NDArray[np.int64], mask: BOOL) -> int:
    return int(values[mask].sum())


def _lines(prefix: str, accepted: tuple[int, int], rejected: tuple[int, int],
           pending: tuple[int, int]) -> dict[str, int]:  # fmt: skip
    green_s = accepted[0] + rejected[0] + pending[0]
    red_s = accepted[1] + rejected[1] + pending[1]
    return {
        f"{prefix}green_lines_accepted": accepted[0],
        f"{prefix}red_lines_accepted": accepted[1],
        f"{prefix}green_lines_rejected": rejected[0],
        f"{prefix}red_lines_rejected": rejected[1],
        f"{prefix}green_lines_suggested": green_s,
        f"{prefix}red_lines_suggested": red_s,
        f"{prefix}lines_suggested": green_s + red_s,
        f"{prefix}lines_accepted": accepted[0] + accepted[1],
    }


def agent_totals(md: MemberDay, mask: BOOL) -> dict[str, int]:
    applies, accepts = _sum(md.counts["applies"], mask), _sum(md.counts["accepts"], mask)
    rejects = _sum(md.counts["rejects"], mask)
    pending = max(0, applies - accepts - rejects)
    accepted = (_sum(md.lines["composer_added"], mask), _sum(md.lines["composer_deleted"], mask))
    return {
        "total_suggested_diffs": applies,
        "total_accepted_diffs": accepts,
        "total_rejected_diffs": rejects,
        **_lines("total_", accepted, (18 * rejects, 5 * rejects), (12 * pending, 3 * pending)),
    }


def tab_totals(md: MemberDay, mask: BOOL) -> dict[str, int]:
    shown, accepts = _sum(md.counts["tabs_shown"], mask), _sum(md.counts["tabs_accepted"], mask)
    # Explicit rejections: a third of the suggestions not taken, member by member.
    ignored = np.maximum(0, md.counts["tabs_shown"] - md.counts["tabs_accepted"])
    rejects = _sum(ignored // 3, mask)
    pending = max(0, shown - accepts - rejects)
    accepted = (_sum(md.lines["tab_added"], mask), _sum(md.lines["tab_deleted"], mask))
    return {
        "total_suggestions": shown,
        "total_accepts": accepts,
        "total_rejects": rejects,
        **_lines("total_", accepted, (2 * rejects, rejects), (2 * pending, pending)),
    }


def agent_edits(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    return [{"event_date": date, **agent_totals(md, mask)}]


def tabs(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    return [{"event_date": date, **tab_totals(md, mask)}]


def dau(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    active = md.active & mask
    return [
        {
            "date": date,
            "dau": int(active.sum()),
            "cli_dau": int((md.cli & active).sum()),
            "cloud_agent_dau": int((md.cloud_agent & active).sum()),
            "bugbot_dau": int((md.bugbot & active).sum()),
        }
    ]


def client_versions(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    versions = md.version[mask & (md.version >= 0)]
    total = int(versions.shape[0])
    counts = np.bincount(versions, minlength=len(CLIENT_VERSIONS))
    return [
        {
            "event_date": date,
            "client_version": CLIENT_VERSIONS[i],
            "user_count": int(counts[i]),
            "percentage": round(int(counts[i]) / total, 4),
        }
        for i in reversed(range(len(CLIENT_VERSIONS)))
        if counts[i]
    ]


def models(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    chosen = md.models[mask]
    messages, users = chosen.sum(axis=0), (chosen > 0).sum(axis=0)
    breakdown = {
        ANALYTICS_MODELS[i]: {"messages": int(messages[i]), "users": int(users[i])}
        for i in np.flatnonzero(messages)
    }
    return [{"date": date, "model_breakdown": breakdown}] if breakdown else []


def top_file_extensions(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
    changes, files = md.ext_changes[mask].sum(axis=0), md.ext_files[mask].sum(axis=0)
    lines = md.ext_lines[mask].sum(axis=0)
    order = sorted(np.flatnonzero(changes).tolist(), key=lambda i: (-int(lines[i]), i))
    rows = []
    for i in order[:TOP_EXTENSIONS]:
        rejects = int(changes[i]) // 4
        rows.append(
            {
                "event_date": date,
                "file_extension": FILE_EXTENSIONS[i].lstrip("."),
                "total_files": int(files[i]),
                "total_accepts": int(changes[i]),
                "total_rejects": rejects,
                "total_lines_suggested": int(lines[i]) + 3 * rejects,
                "total_lines_accepted": int(lines[i]),
                "total_lines_rejected": 3 * rejects,
            }
        )
    return rows


def _keyed(
    matrix: Callable[[MemberDay], npt.NDArray[np.int64]],
    fields: Callable[[int], dict[str, str]],
) -> RowsFn:
    def rows(md: MemberDay, mask: BOOL, date: str) -> list[dict[str, Any]]:
        usage = matrix(md)[mask].sum(axis=0)
        return [
            {"event_date": date, **fields(int(i)), "usage": int(usage[i])}
            for i in np.flatnonzero(usage)
        ]

    return rows


METRICS: dict[str, RowsFn] = {
    "agent-edits": agent_edits,
    "tabs": tabs,
    "dau": dau,
    "client-versions": client_versions,
    "models": models,
    "top-file-extensions": top_file_extensions,
    "mcp": _keyed(
        lambda md: md.mcp,
        lambda i: {"tool_name": MCP_TOOLS[i][1], "mcp_server_name": MCP_TOOLS[i][0]},
    ),
    "commands": _keyed(lambda md: md.commands, lambda i: {"command_name": COMMANDS[i]}),
    "plans": _keyed(lambda md: md.plans, lambda i: {"model": ANALYTICS_MODELS[i]}),
    "skills": _keyed(lambda md: md.skills, lambda i: {"skill_name": SKILLS[i]}),
    "ask-mode": _keyed(lambda md: md.ask, lambda i: {"model": ANALYTICS_MODELS[i]}),
}
# The name echoed in ``params.metric`` where it differs from the path.
ECHOED = {"top-file-extensions": "top-files"}
BY_USER = tuple(m for m in METRICS if m != "dau")
