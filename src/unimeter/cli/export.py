"""``unimeter export``: stored records as JSON Lines or CSV, FinOps files as CSV or Parquet."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, BinaryIO, cast

import typer

from unimeter.accounts import service as accounts
from unimeter.analytics import service as analytics
from unimeter.exports import finops, productivity, tables
from unimeter.exports.finops import ExportError, Table
from unimeter.exports.service import Format, Kind, email_field, export_lines
from unimeter.runtime import Runtime
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, parse_day, run
from .report import scope_from_options


class ExportKind(StrEnum):
    EVENTS = "events"
    DAILY_USAGE = "daily-usage"
    MEMBERS = "members"
    SPEND = "spend"
    FOCUS = "focus"
    CONSUMPTION = "consumption"
    CHARGEBACK = "chargeback"
    PRODUCTIVITY = "productivity"


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


RECORDS = (ExportKind.EVENTS, ExportKind.DAILY_USAGE, ExportKind.MEMBERS, ExportKind.SPEND)
# The options each FinOps export takes besides scope, days, format and output.
OPTIONS = {
    ExportKind.FOCUS: (),
    ExportKind.CONSUMPTION: ("--group-by", "--granularity"),
    ExportKind.CHARGEBACK: ("--by", "--granularity", "--source"),
    ExportKind.PRODUCTIVITY: (),
}


def export_command(
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    account: Annotated[str | None, typer.Option("--account", help="The account id.")] = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format", help="jsonl or csv for records; csv (default) or parquet for the others."
        ),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day (YYYY-MM-DD), inclusive; for focus, consumption, chargeback and "
            "productivity the day after the last (exclusive, as the API's end_date)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout).")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Every account of a tenant (not records).")
    ] = None,
    environment: Annotated[str, typer.Option(help="The environment of --tenant.")] = (
        DEFAULT_ENVIRONMENT
    ),
    group_by: Annotated[
        str | None, typer.Option(help="consumption: user, model, or user,model (default).")
    ] = None,
    granularity: Annotated[
        str | None,
        typer.Option(help="day, week, month or total (consumption: day, chargeback: month)."),
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="chargeback: team (default) or cost_center.")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="chargeback: auto (default), directory or billing_groups."),
    ] = None,
) -> None:
    """Export stored records (events, daily-usage, members, spend; JSON Lines rows are
    Cursor's payloads as stored), FOCUS 1.2 cost rows (focus), or the consumption and
    chargeback analyses, or a productivity row per person and ISO week, as CSV or Parquet."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    given = {"--group-by": group_by, "--granularity": granularity, "--by": by, "--source": source}
    allowed = OPTIONS.get(kind, ())
    for option, value in given.items():
        if value is not None and option not in allowed:
            fail(f"{option} is not an option of export {kind.value}", 2)
    if kind in RECORDS:
        if tenant is not None:
            fail(f"--tenant is not an option of export {kind.value}; give --account", 2)
        _records(kind, account, fmt, first, last, output)
        return
    if fmt is ExportFormat.JSONL:
        fail(f"export {kind.value} is written as csv or parquet", 2)
    table_format: tables.Format = "parquet" if fmt is ExportFormat.PARQUET else "csv"
    if table_format == "parquet" and output is None and sys.stdout.isatty():
        fail("parquet is binary: give -o FILE or pipe the output", 2)

    async def main(runtime: Runtime) -> None:
        scope = await scope_from_options(runtime, account, tenant, environment)
        try:
            days = finops.date_range(runtime, first, last)
            table = await _table(runtime, kind, scope, days, group_by, granularity, by, source)
        except ExportError as exc:
            fail(str(exc), 2)
        await _write(tables.write(table_format, table.columns, table.rows()), output)

    run(main)


def _records(
    kind: ExportKind,
    account: str | None,
    fmt: ExportFormat | None,
    first: dt.date | None,
    last: dt.date | None,
    output: Path | None,
) -> None:
    if account is None:
        fail(f"export {kind.value} needs --account", 2)
    if fmt is None or fmt is ExportFormat.PARQUET:
        fail(f"export {kind.value} is written as --format jsonl or csv", 2)
    if first and last and last < first:
        fail("--end is before --start", 2)
    record_format: Format = "jsonl" if fmt is ExportFormat.JSONL else "csv"
    record_kind = cast(Kind, kind.value)

    async def main(runtime: Runtime) -> int:
        linked = await accounts.get_account(runtime, account)
        field = email_field(runtime, linked.integration)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        count = 0
        try:
            async with runtime.db.scanner() as session:
                async for line in export_lines(
                    session, record_kind, record_format, account, first, last, email_field=field
                ):
                    out.write(line)
                    count += 1
        finally:
            if output:
                out.close()
        return count

    run(main)


async def _table(
    runtime: Runtime,
    kind: ExportKind,
    scope: analytics.Scope,
    days: tuple[dt.date, dt.date],
    group_by: str | None,
    granularity: str | None,
    by: str | None,
    source: str | None,
) -> Table:
    start, end = days
    if kind is ExportKind.FOCUS:
        return finops.focus(runtime, scope, start, end)
    if kind is ExportKind.PRODUCTIVITY:
        return productivity.productivity(runtime, scope, start, end)
    if kind is ExportKind.CONSUMPTION:
        dims = tuple(d.strip() for d in (group_by or "user,model").split(",") if d.strip())
        return finops.consumption(
            runtime, scope, start, end, dims=dims, granularity=granularity or "day"
        )
    return await finops.chargeback(
        runtime, scope, start, end, by=by or "team", granularity=granularity or "month",
        source=source or "auto",
    )  # fmt: skip


async def _write(chunks: AsyncIterator[bytes], output: Path | None) -> None:
    """Write to ``output`` through a temporary file renamed at the end, so a failed export
    leaves no partial file; or to stdout."""
    if output is None:
        await _copy(chunks, sys.stdout.buffer)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as out:
            await _copy(chunks, out)
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


async def _copy(chunks: AsyncIterator[bytes], out: BinaryIO) -> None:
    async for chunk in chunks:
        out.write(chunk)
    out.flush()
