"""``unimeter report ai-code``, ``agents`` and ``ai-usage``: what AI wrote and what agents
ran, as a table, CSV or JSON (the API's answer, every page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

import typer

from unimeter.analytics import agents as agent_runs
from unimeter.analytics import aicode, aiusage, service
from unimeter.analytics.chargeback import SourceChoice
from unimeter.runtime import Runtime
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, run
from .report import (
    AccountOption,
    EndOption,
    EnvironmentOption,
    Format,
    FormatOption,
    StartOption,
    TenantOption,
    _days,
    _emit,
    _range,
    scope_from_options,
)

GRANULARITIES = ("day", "week", "month", "total")
SourceOption = Annotated[str, typer.Option(help="Team map: auto, directory or billing_groups.")]


def _check(granularity: str, source: str) -> None:
    if granularity not in GRANULARITIES:
        fail("--granularity is day, week, month or total", 2)
    if source not in ("auto", "directory", "billing_groups"):
        fail("--source is auto, directory or billing_groups", 2)


def ai_code_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None,
    branch: Annotated[str, typer.Option(help="primary or all.")] = "all",
    group_by: Annotated[str, typer.Option(help="team, user or repository.")] = "team",
    granularity: Annotated[str, typer.Option(help="day, week, month or total.")] = "week",
    source: SourceOption = "auto", output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Committed lines by origin and the AI share per group and period, and the cost per
    AI-written line by team and month (JSON; the table and CSV list the groups)."""
    if branch not in ("primary", "all"):
        fail("--branch is primary or all", 2)
    if group_by not in ("team", "user", "repository"):
        fail("--group-by is team, user or repository", 2)
    _check(granularity, source)
    first, stop = _days(start, end)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(runtime, first, stop, 30, service.today(runtime) + dt.timedelta(1))
        report = await aicode.ai_code(
            runtime, scope, start=begin, end=until, branch=cast(aicode.Branch, branch),
            group_by=cast(aicode.GroupBy, group_by), granularity=granularity,
            source=cast(SourceChoice, source),
        )  # fmt: skip
        rows = [aicode.group_body(report, key, lines) for key, lines in report.groups]
        return {"scope": scope.describe(), **aicode.body(report), "result": rows}

    body = run(main)
    name = {"team": "team", "user": "user_email", "repository": "repository"}[group_by]
    _emit(body, body["result"], output,
          ["period_start", name, "commits", "lines_added", "tab_lines_added",
           "agent_lines_added", "human_lines_added", "ai_share", "active_authors"])  # fmt: skip


def agents_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None, source: SourceOption = "auto", output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Cloud-agent runs per person: status, success rate, duration, pull requests, tokens
    and cost per run (JSON adds the totals and the teams)."""
    _check("total", source)
    first, stop = _days(start, end)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(runtime, first, stop, 30, service.today(runtime) + dt.timedelta(1))
        report = await agent_runs.agents(
            runtime, scope, start=begin, end=until, source=cast(SourceChoice, source)
        )
        return {"scope": scope.describe(), **agent_runs.body(report),
                "result": agent_runs.person_rows(report)}  # fmt: skip

    body = run(main)
    _emit(body, body["result"], output,
          ["user_email", "runs", "success_rate", "duration_ms.p50", "duration_ms.p90",
           "pull_requests", "tokens.per_run", "cost.per_run"])  # fmt: skip


def ai_usage_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None,
    granularity: Annotated[str, typer.Option(help="day, week, month or total.")] = "week",
    kind: Annotated[
        list[str] | None, typer.Option(help="Only this kind; repeat for several.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=1000, help="Keys shown per kind.")] = 20,
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """What the team uses AI for: insight, tool, command and skill counts per kind and key."""
    _check(granularity, "auto")
    unknown = sorted(set(kind or ()) - set(aiusage.KINDS))
    if unknown:
        fail(f"unknown --kind {', '.join(unknown)}; known: {', '.join(aiusage.KINDS)}", 2)
    kinds = tuple(k for k in aiusage.KINDS if not kind or k in kind)
    first, stop = _days(start, end)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(runtime, first, stop, 30, service.today(runtime) + dt.timedelta(1))
        body = await aiusage.ai_usage(runtime, scope, start=begin, end=until,
                                      granularity=granularity, kinds=kinds, top=top)  # fmt: skip
        return {"scope": scope.describe(), **body}

    body = run(main)
    rows = [{"kind": k["kind"], "key": key["key"], "total": key["total"], "share": key["share"]}
            for k in body["result"] for key in k["keys"]]  # fmt: skip
    _emit(body, rows, output, ["kind", "key", "total", "share"])


def register(app: typer.Typer) -> None:
    app.command("ai-code")(ai_code_report)
    app.command("agents")(agents_report)
    app.command("ai-usage")(ai_usage_report)
