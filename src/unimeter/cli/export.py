"""``unimeter export``: stream stored records as JSON Lines or CSV."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from unimeter.accounts import service as accounts
from unimeter.exports.service import export_lines
from unimeter.runtime import Runtime

from .common import fail, parse_day, run


class ExportKind(StrEnum):
    EVENTS = "events"
    DAILY_USAGE = "daily-usage"
    MEMBERS = "members"
    SPEND = "spend"


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def export_command(
    kind: Annotated[ExportKind, typer.Argument(help="What to export.")],
    account: Annotated[str, typer.Option("--account", help="The account id.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")],
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD), inclusive.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default: stdout).")
    ] = None,
) -> None:
    """Export stored records; JSON Lines rows are Cursor's payloads as stored."""
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if first and last and last < first:
        fail("--end is before --start", 2)

    async def main(runtime: Runtime) -> int:
        await accounts.get_account(runtime, account)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        count = 0
        try:
            async with runtime.db.reader() as session:
                async for line in export_lines(
                    session, kind.value, fmt.value, account, first, last
                ):
                    out.write(line)
                    count += 1
        finally:
            if output:
                out.close()
        return count

    run(main)
