"""``unimeter sync``: backfill and incremental syncs with progress and a summary."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from unimeter.accounts import service as accounts
from unimeter.connectors.windows import BackfillStartError, check_backfill_start
from unimeter.db.base import now_ms
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import StreamStats, SyncOptions, SyncReport
from unimeter.sync.service import sync_account

from . import errors
from .common import day_start_ms, fail, parse_day, run

console = Console(highlight=False)


def sync_command(
    account_ids: Annotated[list[str] | None, typer.Argument(help="Accounts to sync.")] = None,
    all_accounts: Annotated[bool, typer.Option("--all", help="Sync every account.")] = False,
    full: Annotated[bool, typer.Option(help="Re-read everything from the floor.")] = False,
    since: Annotated[str | None, typer.Option(help="Backfill from this day (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Sync members, usage, events, spend, billing groups and audit logs."""
    if bool(account_ids) == all_accounts:
        fail("name the accounts to sync, or pass --all (not both)", 2)
    since_day = parse_day(since, "--since")
    since_ms = day_start_ms(since_day) if since_day else None
    if since_ms is not None:
        try:
            check_backfill_start(since_ms, now_ms())
        except BackfillStartError as exc:
            fail(f"--since: {exc}", 2)
    options = SyncOptions(full=full, since_ms=since_ms)
    show_progress = not as_json and sys.stderr.isatty()

    async def main(runtime: Runtime) -> tuple[list[SyncReport], list[Failure]]:
        ids = account_ids or [a.id for a in await accounts.list_accounts(runtime)]
        for account_id in ids:
            await accounts.get_account(runtime, account_id)  # fail fast on a typo
        reports: list[SyncReport] = []
        failures: list[Failure] = []
        for account_id in ids:
            try:
                report = await _sync_one(runtime, account_id, options, show_progress)
            except Exception as exc:
                if errors.is_database_error(exc):
                    raise  # the store is broken: the other accounts would fail the same way
                failures.append(Failure(account_id, errors.explain(exc)))
                continue
            reports.append(report)
        return reports, failures

    reports, failures = run(main)
    if as_json:
        rows = [r.as_dict() for r in reports] + [f.as_dict() for f in failures]
        typer.echo(json.dumps(rows))
    else:
        for report in reports:
            console.print(summary_table(report))
            for warning in report.warnings:
                # Not an error: the run succeeded with every stream the plan includes.
                console.print(f"[yellow]warning:[/yellow] {escape(warning)}", soft_wrap=True)
    # A run may also end failed without raising: its report says why.
    failed = [
        Failure(r.account_id, r.error or "the run failed") for r in reports if r.status == "failed"
    ]
    if failures or failed:
        fail(failure_line([*failed, *failures], total=len(reports) + len(failures)))


@dataclass(frozen=True, slots=True)
class Failure:
    """A sync that failed: the vendor refused or stayed down, or a bug."""

    account_id: str
    error: str

    def as_dict(self) -> dict[str, str]:
        return {"account_id": self.account_id, "status": "failed", "error": self.error}


def failure_line(failures: list[Failure], *, total: int) -> str:
    """One line however many accounts failed (stderr stays one line per command)."""
    if total == 1:
        return f"sync of {failures[0].account_id} failed: {failures[0].error}"
    each = "; ".join(f"{f.account_id}: {f.error}" for f in failures)
    return f"{len(failures)} of {total} syncs failed: {each}"


async def _sync_one(
    runtime: Runtime, account_id: str, options: SyncOptions, show_progress: bool
) -> SyncReport:
    if show_progress:
        return await sync_with_progress(runtime, account_id, options)
    return await sync_account(runtime, account_id, options)


async def sync_with_progress(runtime: Runtime, account_id: str, options: SyncOptions) -> SyncReport:
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("windows · {task.fields[requests]} requests · {task.fields[records]} records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(stream: str, stats: StreamStats) -> None:
            if stream not in tasks:
                tasks[stream] = bar.add_task(stream, total=None, requests=0, records=0)
            bar.update(
                tasks[stream],
                total=stats.windows or None,
                completed=stats.windows_done,
                requests=stats.requests,
                records=stats.records,
            )

        return await sync_account(runtime, account_id, options, progress=update)


def summary_table(report: SyncReport) -> Table:
    table = Table(
        "stream", "inserted", "updated", "unchanged", "requests", "retries", "429s", "seconds",
        title=f"{report.account_id}: {report.status} in {report.seconds:.1f} s",
    )  # fmt: skip
    for name, s in report.streams.items():
        if s.status == "unavailable":
            table.add_row(name, "not in plan", "", "", str(s.requests), "", "", f"{s.seconds:.1f}")
            continue
        table.add_row(
            name, str(s.inserted), str(s.updated), str(s.unchanged), str(s.requests),
            str(s.retries), str(s.rate_limited), f"{s.seconds:.1f}",
        )  # fmt: skip
    return table
