"""What the team uses AI for: the vendors' per-day counts of conversation insights (intent,
work type, complexity, category, guidance level), MCP tools, commands, skills, modes and
models, over time. Aggregates only: no conversation content is ever stored.

A vendor may report a count for the team (no email) and per person; the team's count is
used where there is one for that account, day and kind, else the people's counts summed,
so nothing is counted twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from unimeter.runtime import Runtime

from . import code_repository as repo
from . import render
from .chargeback import bucket
from .service import Scope

KINDS = (
    "intent", "work_type", "complexity", "category", "guidance_level", "mcp_tool", "command",
    "skill", "plan_mode", "ask_mode", "model_messages", "file_extension",
)  # fmt: skip


def _counts(
    rows: list[tuple[str, dt.date, bool, str, str, int]],
) -> list[tuple[dt.date, str, str, int]]:
    """``(day, kind, key, value)``: the team's rows where an (account, day, kind) has any,
    else the people's."""
    with_team = {(a, d, k) for a, d, team, k, _, _ in rows if team}
    return [(d, k, key, v) for a, d, team, k, key, v in rows if team or (a, d, k) not in with_team]


async def ai_usage(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, granularity: str,
    kinds: tuple[str, ...], top: int,
) -> dict[str, Any]:  # fmt: skip
    async with runtime.db.scanner() as session:
        rows = await repo.activity(session, scope.account_ids, start, end, kinds)
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    series: dict[tuple[str, str], dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for day, kind, key, value in _counts(rows):
        totals[kind][key] += value
        series[(kind, key)][bucket(day, granularity, start)] += value
    out = []
    for kind in kinds:
        if kind not in totals:
            continue
        keys = sorted(totals[kind].items(), key=lambda kv: (-kv[1], kv[0]))
        whole = sum(totals[kind].values())
        shown = keys[:top]
        out.append({
            "kind": kind,
            "total": whole,
            "keys": [
                {"key": key, "total": value,
                 "share": round(value / whole, 4) if whole else None,
                 "periods": [
                     {"period_start": p.isoformat(),
                      "period_end": render.period_end(p, granularity, end).isoformat(),
                      "value": v}
                     for p, v in sorted(series[(kind, key)].items())
                 ]}
                for key, value in shown
            ],
            "others": sum(v for _, v in keys[top:]),
        })  # fmt: skip
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "granularity": granularity,
        "result": out,
    }


async def active_users(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date
) -> list[dict[str, Any]]:
    """Per ``active_users`` key (``all``, ``cli``, ``cloud_agent``, ``review``): the
    vendors' daily active users averaged over the days of ``[start, end)`` (a day without a
    count is 0), and the count on the last day reported. Only the team's counts: a
    person's row says nothing of how many were active. Empty when none is reported."""
    async with runtime.db.scanner() as session:
        rows = await repo.activity(session, scope.account_ids, start, end, ("active_users",))
    per_day: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    for _, day, team, _, key, value in rows:
        if team:
            per_day[key][day] += value
    days = (end - start).days
    out = []
    for key in sorted(per_day, key=lambda k: (k != "all", k)):
        counts = per_day[key]
        last = max(counts)
        out.append({"key": key, "average": round(sum(counts.values()) / days, 2),
                    "last_day": last.isoformat(), "last": counts[last]})  # fmt: skip
    return out
