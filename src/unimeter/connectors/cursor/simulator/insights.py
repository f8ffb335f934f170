"""Conversation Insights (``/analytics/team/conversation-insights``): aggregates only.

Every conversation seen in the window's visible usage events (its ``conversationId``) gets
stable labels drawn from its id; a conversation that spans days counts on each of them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .analytics import Window, day_text, served_days, window
from .analytics_data import AnalyticsData
from .rng import mix64
from .validation import bad_request

# include value → (dimension key, labels)
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "intents": ("intent", ("Write Code", "Ask", "Plan", "Debug", "Review")),
    "complexity": ("complexity", ("low", "medium", "high")),
    "categories": (
        "category",
        ("New Features", "Bug Fixing & Debugging", "Refactoring", "Testing", "Documentation"),
    ),
    "guidanceLevels": ("guidanceLevel", ("minimal", "moderate", "detailed")),
    "workTypes": ("workType", ("new_feature", "bug", "refactor", "test", "docs")),
}
SUBCATEGORIES = {
    "askMode": ("Ask", ("Code explanation", "Architecture", "API usage")),
    "planMode": ("Plan", ("Feature design", "Migration plan", "Task breakdown")),
    "writeCode": ("Write Code", ("Implementation", "Bug fix", "Tests")),
}


def _label(conversation: int, salt: int, labels: tuple[str, ...]) -> str:
    return labels[mix64(conversation ^ (salt * 0x9E3779B97F4A7C15)) % len(labels)]


def conversations(data: AnalyticsData, w: Window) -> list[tuple[str, int]]:
    """(date, conversation key) pairs of the window, for the selected users."""
    team = data.svc.team
    now = team.now_ms()
    wanted = None if w.users is None else {m.index for m in w.users}
    out: list[tuple[str, int]] = []
    for md in served_days(data, w):
        ev = team.day(md.day).events
        picked = (ev.visible_at <= now) & (ev.conversation != 0)
        if wanted is not None:
            picked &= np.isin(ev.user, list(wanted))
        date = day_text(md.day)
        out.extend((date, int(c)) for c in np.unique(ev.conversation[picked]))
    return out


def _include(raw: list[str]) -> list[str]:
    names = [p.strip() for value in raw for p in value.split(",") if p.strip()]
    if not names:
        raise bad_request("include is required: intents, complexity, categories, ...")
    unknown = [n for n in names if n not in DIMENSIONS]
    if unknown:
        raise bad_request(f"Invalid include value(s): {', '.join(unknown)}")
    return list(dict.fromkeys(names))


def insights(data: AnalyticsData, params: dict[str, str], include: list[str]) -> dict[str, Any]:
    team = data.svc.team
    w = window(team, params)
    names = _include(include)
    convs = conversations(data, w)
    body: dict[str, Any] = {}
    for salt, name in enumerate(DIMENSIONS):
        if name not in names:
            continue
        key, labels = DIMENSIONS[name]
        per = [(date, _label(c, salt, labels)) for date, c in convs]
        dist = Counter(label for _, label in per)
        series = Counter(per)
        slice_: dict[str, Any] = {
            "distribution": [{key: lbl, "count": dist[lbl]} for lbl in labels if dist[lbl]],
            "timeSeries": [
                {"date": d, key: lbl, "count": n} for (d, lbl), n in sorted(series.items())
            ],
        }
        if name == "intents":
            slice_["topValues"] = [{key: lbl, "count": n} for lbl, n in dist.most_common(3)]
            slice_["subcategories"] = _subcategories(convs)
        body[name] = slice_
    params_out = w.params(team, "conversation-insights")
    params_out["include"] = names
    return {"data": body, "params": params_out}


def _subcategories(convs: list[tuple[str, int]]) -> dict[str, list[dict[str, Any]]]:
    intents = DIMENSIONS["intents"][1]
    out: dict[str, list[dict[str, Any]]] = {}
    for mode, (intent, subs) in SUBCATEGORIES.items():
        counts = Counter(_label(c, 97, subs) for _, c in convs if _label(c, 0, intents) == intent)
        out[mode] = [{"subcategory": s, "count": counts[s]} for s in subs if counts[s]]
    return out
