"""The figures of the "AI code" page, from the analyses' own functions (so the page shows
the API's numbers): ``/analytics/ai-code`` by team per week and by repository, the cost per
AI line by team, and ``/analytics/agents``."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from unimeter.analytics import agents as agent_runs
from unimeter.analytics import aicode
from unimeter.runtime import Runtime

from .charts import Chart, Series
from .service import Context, window


async def _report(
    runtime: Runtime, ctx: Context, days: int, group_by: aicode.GroupBy, granularity: str,
    with_cost: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The body of ``GET /analytics/ai-code`` for the view's last ``days`` days."""
    start, end = window(ctx, days)
    report = await aicode.ai_code(
        runtime, ctx.scope, start=start, end=end, branch="all", group_by=group_by,
        granularity=granularity, source="auto", with_cost=with_cost,
    )  # fmt: skip
    rows = [aicode.group_body(report, key, lines) for key, lines in report.groups]
    return {**aicode.body(report), "result": rows}


async def weekly(runtime: Runtime, ctx: Context, days: int) -> dict[str, Any]:
    return await _report(runtime, ctx, days, "team", "week")


async def teams(runtime: Runtime, ctx: Context, days: int) -> dict[str, Any]:
    return await _report(runtime, ctx, days, "team", "total", with_cost=True)


async def page(runtime: Runtime, ctx: Context, days: int) -> dict[str, Any]:
    start, end = window(ctx, days)
    agents = await agent_runs.agents(runtime, ctx.scope, start=start, end=end, source="auto")
    return {
        "weekly": await weekly(runtime, ctx, days),
        "teams": await teams(runtime, ctx, days),
        "repositories": await _report(runtime, ctx, days, "repository", "total"),
        "agents": agent_runs.body(agents),
    }


def _pct(share: float | None) -> float:
    return round(100 * share, 1) if share is not None else 0


def share_chart(body: dict[str, Any]) -> Chart:
    """AI share of the lines added per week, over every team (the groups of a week add up
    to the week: each commit is in one team)."""
    added: dict[str, int] = defaultdict(int)
    tab: dict[str, int] = defaultdict(int)
    agent: dict[str, int] = defaultdict(int)
    for r in body["result"]:
        week = r["period_start"]
        added[week] += r["lines_added"]
        tab[week] += r["tab_lines_added"]
        agent[week] += r["agent_lines_added"]
    weeks = sorted(added)
    return Chart(
        "ai-share", "AI share of lines added, per week", weeks,
        [Series("completions", [_pct(aicode.share(tab[w], added[w])) for w in weeks]),
         Series("agent", [_pct(aicode.share(agent[w], added[w])) for w in weeks])],
        unit="%", label_header="week",
    )  # fmt: skip


def team_share_chart(body: dict[str, Any]) -> Chart:
    rows = body["result"]
    return Chart(
        "ai-share-team", "AI share by team", [r["team"] or "(no team)" for r in rows],
        [Series("AI share", [_pct(r["ai_share"]) for r in rows])],
        unit="%", kind="bars", label_header="team",
    )  # fmt: skip


def cost_chart(body: dict[str, Any]) -> Chart:
    rows = [r for r in body["cost_per_ai_line"] if r["cost_per_ai_line"] is not None]
    return Chart(
        "cost-per-ai-line", "Cost per AI-written line by team",
        [r["team"] or "(no team)" for r in rows],
        [Series("cost per line", [Decimal(r["cost_per_ai_line"]) for r in rows])],
        unit="$", kind="bars", label_header="team",
    )  # fmt: skip
