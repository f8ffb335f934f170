"""``unimeter report people``: each person across the scope's tools (their cost, tokens and
seats per product, who holds several tools), as a table, CSV or JSON (the API's answer,
every page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from unimeter.analytics import people as persons
from unimeter.analytics import service
from unimeter.runtime import Runtime
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import parse_day, run
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


def people_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None,
    as_of: Annotated[
        str | None, typer.Option(help="Seats held on this day, YYYY-MM-DD (default: the last).")
    ] = None,
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Each person across tools, costliest first: tools held, cost (estimates included and
    flagged) and tokens per product; JSON adds the summary (people per tool, several tools)."""
    first, stop = _days(start, end)
    day = parse_day(as_of, "--as-of")

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(runtime, first, stop, 30, service.today(runtime) + dt.timedelta(1))
        when = day or until - dt.timedelta(days=1)
        report = await persons.people(
            runtime, scope, start=begin, end=until, as_of=when, sort="-cost"
        )
        return {
            "scope": scope.describe(), "start_date": begin.isoformat(),
            "end_date": until.isoformat(), "as_of": when.isoformat(), "sort": "-cost",
            "summary": persons.summary(report),
            "result": [persons.person_body(p, report.names) for p in report.people],
        }  # fmt: skip

    body = run(main)
    rows = [
        {"email": r["email"], "tools": ",".join(r["tools"]),
         "cost": r["total"]["cost"]["charged"], "estimated_cost": r["estimated_cost"]}
        for r in body["result"]
    ]  # fmt: skip
    _emit(body, rows, output, ["email", "tools", "cost", "estimated_cost"])


def register(app: typer.Typer) -> None:
    app.command("people")(people_report)
