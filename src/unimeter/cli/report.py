"""``unimeter report``: the analyses as a table, CSV or JSON."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from unimeter.accounts import service as accounts
from unimeter.analytics import adoption, anomalies, audit, render, service
from unimeter.analytics import chargeback as charges
from unimeter.analytics.consumption_repository import ConsumptionQuery
from unimeter.kit.cursors import Position
from unimeter.runtime import Runtime
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, parse_day, run

app = typer.Typer(help="Analyses of the synced data.", no_args_is_help=True)
console = Console(highlight=False)

AccountOption = Annotated[str | None, typer.Option("--account", help="One integrated account.")]
TenantOption = Annotated[str | None, typer.Option("--tenant", help="Every account of a tenant.")]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="table, csv or json.")]


async def scope_from_options(
    runtime: Runtime, account: str | None, tenant: str | None, environment: str
) -> service.Scope:
    env_id = await accounts.environment_id(runtime, environment) if tenant else None
    try:
        return await service.resolve_scope(
            runtime, env_id, integrated_account_id=account, tenant_id=tenant
        )
    except service.ScopeError:
        fail("give exactly one of --account and --tenant", 2)
    except service.ScopeNotFoundError as exc:
        fail(str(exc))


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> None:
    writer = csv.DictWriter(sys.stdout, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@app.command("seats")
def seats(
    account: AccountOption = None,
    tenant: TenantOption = None,
    environment: Annotated[str, typer.Option(help="The environment of --tenant.")] = (
        DEFAULT_ENVIRONMENT
    ),
    as_of: Annotated[str | None, typer.Option(help="Last day of the windows, YYYY-MM-DD.")] = None,
    idle_days: Annotated[int, typer.Option(min=1, max=365, help="Idle after this many days.")] = 30,
    output: FormatOption = Format.table,
) -> None:
    """Seat utilization; CSV lists the idle and never-used seats (a reclaim list)."""
    day = parse_day(as_of, "--as-of")

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        report = await service.seats(runtime, scope, day or service.today(runtime), idle_days)
        return render.seats(report)

    body = run(main)
    if output is Format.json:
        typer.echo(json.dumps(body))
    elif output is Format.csv:
        reclaim = [{**s, "status": "idle"} for s in body["idle"]]
        reclaim += [{**s, "status": "never_used"} for s in body["never_used"]]
        _csv(reclaim, ["integrated_account_id", "user_id", "email", "name", "role", "status",
                       "last_active", "days_idle"])  # fmt: skip
    else:
        _seats_table(body)


def _seats_table(body: dict[str, Any]) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}%"

    console.print(
        f"as of {body['as_of']}: [bold]{body['provisioned']}[/bold] seats, "
        f"{body['active_7d']} active in 7 days ({pct(body['utilization_7d'])}), "
        f"{body['active_30d']} in 30 days ({pct(body['utilization_30d'])})"
    )
    table = Table("email", "status", "last active", "days idle", "account")
    for status in ("idle", "never_used"):
        for s in body[status]:
            table.add_row(s["email"], status, s["last_active"] or "never",
                          str(s["days_idle"] or ""), s["integrated_account_id"])  # fmt: skip
    console.print(table)
    reclaim = body["reclaimable"]
    monthly = reclaim["monthly"]
    price = f"${monthly['amount']} a month" if monthly else "no seat price set"
    console.print(f"reclaimable: {reclaim['seats']} seats, {price}")


@app.command("consumption")
def consumption(
    account: AccountOption = None,
    tenant: TenantOption = None,
    environment: Annotated[str, typer.Option(help="The environment of --tenant.")] = (
        DEFAULT_ENVIRONMENT
    ),
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Day after the last, YYYY-MM-DD.")] = None,
    group_by: Annotated[str, typer.Option(help="user, model, or user,model.")] = "user,model",
    granularity: Annotated[str, typer.Option(help="day, week, month or total.")] = "total",
    top: Annotated[int | None, typer.Option(min=1, max=1000, help="Only the N costliest.")] = None,
    output: FormatOption = Format.table,
) -> None:
    """Tokens and cost by user, model and period."""
    dims = tuple(dict.fromkeys(d.strip() for d in group_by.split(",") if d.strip()))
    if not dims or not set(dims) <= {"user", "model"}:
        fail("--group-by takes user, model or user,model", 2)
    if granularity not in ("day", "week", "month", "total"):
        fail("--granularity is day, week, month or total", 2)
    first, after_last = parse_day(start, "--start"), parse_day(end, "--end")

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        stop = after_last or service.today(runtime) + dt.timedelta(days=1)
        begin = first or stop - dt.timedelta(days=30)
        if begin >= stop:
            fail("--start must be before --end", 2)
        q = ConsumptionQuery(
            account_ids=scope.account_ids, start=begin, end=stop, by_user="user" in dims,
            by_model="model" in dims, granularity=granularity,
        )  # fmt: skip
        page = await service.consumption_all(runtime, q, top=top)
        body = render.consumption(page, granularity=granularity, start=begin, end=stop, dims=dims)
        return {"scope": scope.describe(), **body}

    body = run(main)
    if output is Format.json:
        typer.echo(json.dumps(body))
        return
    rows = [_flat(r) for r in body["result"]]
    columns = ["period_start", "period_end", "integrated_account_id", "user_email", "model",
               "rank", "events", "input_tokens", "output_tokens", "cache_read_tokens",
               "cache_write_tokens", "total_tokens", "charged", "included", "usage_based"]  # fmt: skip
    columns = [c for c in columns if any(c in r for r in rows)] or columns
    if output is Format.csv:
        _csv(rows, columns)
        return
    table = Table(*columns)
    for r in rows:
        # A dash for unknown (a vendor that does not count requests), as on the dashboard.
        table.add_row(*("—" if r.get(c, "") is None else str(r.get(c, "")) for c in columns))
    console.print(table)
    totals = body["totals"]
    console.print(f"total: ${totals['cost']['charged']}, {totals['tokens']['total']} tokens")


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    tokens, cost = row["tokens"], row["cost"]
    flat = {k: v for k, v in row.items() if k not in ("tokens", "cost")}
    flat.update({f"{k}_tokens": v for k, v in tokens.items()})
    flat.update({k: v for k, v in cost.items() if k != "currency"})
    return flat


# --- the other analyses: one generic shape (a body with a "result" list) -----------------


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def _emit(
    body: dict[str, Any], rows: list[dict[str, Any]], output: Format, columns: list[str]
) -> None:
    if output is Format.json:
        typer.echo(json.dumps(body))
        return
    flat = [_flatten(r) for r in rows]
    if output is Format.csv:
        every = list(dict.fromkeys(k for r in flat for k in r))
        _csv(flat, every)
        _notes(body, Console(stderr=True, highlight=False))  # keep the CSV itself clean
        return
    table = Table(*columns)
    for r in flat:
        table.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in columns))
    console.print(table)
    _notes(body, console)


def _notes(body: dict[str, Any], out: Console) -> None:
    """What the answer could not include (a stream the plan lacks, no directory upload)."""
    for note in body.get("notes", []):
        out.print(f"note: {note['message']}", markup=False, soft_wrap=True)


def _days(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    return parse_day(start, "--start"), parse_day(end, "--end")


StartOption = Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")]
EndOption = Annotated[str | None, typer.Option(help="Day after the last, YYYY-MM-DD.")]
EnvironmentOption = Annotated[str, typer.Option(help="The environment of --tenant.")]


def _range(runtime: Runtime, first: dt.date | None, stop: dt.date | None, days: int,
           default_end: dt.date) -> tuple[dt.date, dt.date]:  # fmt: skip
    end = stop or default_end
    start = first or end - dt.timedelta(days=days)
    if start >= end:
        fail("--start must be before --end", 2)
    return start, end


@app.command("chargeback")
def chargeback_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None, by: Annotated[str, typer.Option(help="team or cost_center.")] = "team",
    granularity: Annotated[str, typer.Option(help="day, week, month or total.")] = "month",
    source: Annotated[str, typer.Option(help="auto, directory or billing_groups.")] = "auto",
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Cost per team or cost center per period, with an unallocated bucket."""
    if by not in ("team", "cost_center") or source not in ("auto", "directory", "billing_groups"):
        fail("--by is team or cost_center; --source is auto, directory or billing_groups", 2)
    if granularity not in ("day", "week", "month", "total"):
        fail("--granularity is day, week, month or total", 2)
    first, stop = _days(start, end)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(
            runtime, first, stop, 90, service.today(runtime) + dt.timedelta(days=1)
        )
        try:
            report = await charges.chargeback(runtime, scope, start=begin, end=until, by=by,  # type: ignore[arg-type]
                                              granularity=granularity, source=source)  # type: ignore[arg-type]  # fmt: skip
        except charges.ChargebackError as exc:
            fail(str(exc))
        body = render.chargeback(report, granularity=granularity, start=begin, end=until)
        return {"scope": scope.describe(), **body}

    body = run(main)
    _emit(body, body["result"], output,
          ["period_start", by, "users", "events", "tokens.total", "cost.charged"])  # fmt: skip


@app.command("adoption")
def adoption_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, start: StartOption = None,
    end: EndOption = None,
    source: Annotated[str, typer.Option(help="auto, directory or billing_groups.")] = "auto",
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Adoption scorecards per team, with the change against the previous period."""
    first, stop = _days(start, end)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        begin, until = _range(runtime, first, stop, 30, service.today(runtime))
        body = await adoption.adoption(runtime, scope, start=begin, end=until, source=source)  # type: ignore[arg-type]
        return {"scope": scope.describe(), **body}

    body = run(main)
    _emit(body, body["result"], output,
          ["team", "members", "dau", "wau", "mau", "active_ratio", "tab_acceptance",
           "edit_acceptance", "change.mau"])  # fmt: skip


@app.command("audit")
def audit_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT,
    as_of: Annotated[str | None, typer.Option(help="The day to audit, YYYY-MM-DD.")] = None,
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Provisioning findings, each with its evidence."""
    day = parse_day(as_of, "--as-of")

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        when = day or service.today(runtime)
        return {
            "scope": scope.describe(),
            **render.audit(await audit.audit(runtime, scope, when), when),
        }

    body = run(main)
    _emit(body, body["result"], output, ["type", "email", "integrated_account_id", "user_id"])


@app.command("anomalies")
def anomalies_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Usage anomalies found after syncs, newest first."""
    if status is not None and status not in anomalies.STATUSES:
        fail("--status is open, acknowledged or resolved", 2)

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        rows, position = [], None
        while True:
            page = await anomalies.page(runtime, scope.account_ids, status=status, kind=None,
                                        position=position, limit=1000)  # fmt: skip
            rows += [anomalies.render(a) for a in page.items]
            if page.next_key is None:
                return {"scope": scope.describe(), "result": rows}
            position = Position(key=page.next_key, direction="next")

    body = run(main)
    _emit(body, body["result"], output,
          ["day", "kind", "user_email", "model", "status", "details.multiple",
           "details.cost", "details.usual_cost"])  # fmt: skip


@app.command("reconciliation")
def reconciliation_report(
    account: AccountOption = None, tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT, output: FormatOption = Format.table,
) -> None:  # fmt: skip
    """Billed spend per member and cycle against the stored events, with any drift."""

    async def main(runtime: Runtime) -> dict[str, Any]:
        scope = await scope_from_options(runtime, account, tenant, environment)
        return {
            "scope": scope.describe(),
            **render.reconciliation(await charges.reconcile(runtime, scope)),
        }

    body = run(main)
    _emit(body, body["cycles"], output,
          ["integrated_account_id", "cycle_start", "members", "billed", "events", "drift"])  # fmt: skip
