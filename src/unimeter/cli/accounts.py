"""``unimeter accounts``: link, list, schedule and remove integrated accounts."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from unimeter.accounts import service
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.sync.scheduling.cadence import (
    DEFAULT_FREQUENCY_MINUTES,
    MAX_FREQUENCY_MINUTES,
    MIN_FREQUENCY_MINUTES,
)
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, iso_or_never, run

EVERY_HELP = (
    f"Minutes between scheduled syncs ({MIN_FREQUENCY_MINUTES}-{MAX_FREQUENCY_MINUTES}), "
    "or 'off' for on demand only."
)

app = typer.Typer(help="Link, list, schedule and remove integrated accounts.", no_args_is_help=True)
console = Console(highlight=False)


def account_json(account: IntegratedAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "integration": account.integration,
        "tenant_id": account.tenant_id,
        "name": account.name,
        "status": account.status,
        "base_url": account.base_url,
        "last_synced_at": account.last_synced_at,
        "last_error": account.last_error,
        "sync_frequency_minutes": account.sync_frequency_minutes,
        "next_sync_at": account.next_sync_at,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


@app.command("link")
def link(
    integration: Annotated[str, typer.Argument(help="The vendor: cursor.")],
    api_key: Annotated[
        str | None,
        typer.Option(help="Admin API key (or set CURSOR_API_KEY to keep it out of shell history)."),
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="API base URL (default: Cursor's).")] = None,
    tenant_id: Annotated[str | None, typer.Option(help="Your id for this customer.")] = None,
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
    environment: Annotated[
        str, typer.Option(help="Environment to link into.")
    ] = DEFAULT_ENVIRONMENT,
    sync_every: Annotated[str, typer.Option(help=EVERY_HELP)] = str(DEFAULT_FREQUENCY_MINUTES),
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
) -> None:
    """Validate an API key with the vendor, then store it encrypted."""
    frequency = parse_every(sync_every)
    key = api_key or os.environ.get("CURSOR_API_KEY", "")
    if integration != "cursor":
        fail(f"unknown integration {integration!r}; supported: cursor", 2)
    if not key.strip():
        fail("an API key is required: --api-key KEY or CURSOR_API_KEY", 2)
    request = service.LinkRequest(
        integration=integration,
        api_key=key.strip(),
        tenant_id=tenant_id,
        name=name,
        base_url=base_url,
        environment=environment,
        sync_frequency_minutes=frequency,
    )

    async def main(runtime: Runtime) -> IntegratedAccount:
        return await service.link_account(runtime, request)

    account = run(main)
    if as_json:
        typer.echo(json.dumps(account_json(account)))
    else:
        console.print(f"linked {account.integration} account [bold]{account.id}[/bold]")


@app.command("list")
def list_accounts(
    environment: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List integrated accounts."""

    async def main(runtime: Runtime) -> list[IntegratedAccount]:
        return list(await service.list_accounts(runtime, environment))

    accounts = run(main)
    if as_json:
        typer.echo(json.dumps([account_json(a) for a in accounts]))
        return
    table = Table("id", "integration", "tenant", "name", "status", "last synced", "every", "next")
    for a in accounts:
        every = "on demand" if a.sync_frequency_minutes is None else f"{a.sync_frequency_minutes}m"
        next_sync = iso_or_never(a.next_sync_at) if a.status == "active" else "paused"
        table.add_row(
            a.id, a.integration, a.tenant_id or "", a.name or "", a.status,
            iso_or_never(a.last_synced_at), every, next_sync,
        )  # fmt: skip
    console.print(table)


@app.command("schedule")
def schedule(
    account_id: Annotated[str, typer.Argument(help="The account id.")],
    every: Annotated[str, typer.Option(help=EVERY_HELP)],
) -> None:
    """Set how often an account syncs (a running `unimeter serve` or workers do it)."""
    frequency = parse_every(every)

    async def main(runtime: Runtime) -> IntegratedAccount:
        account = await service.get_account(runtime, account_id)
        return await service.update_account(runtime, account, sync_frequency_minutes=frequency)

    account = run(main)
    if account.sync_frequency_minutes is None:
        console.print(f"{account.id} now syncs on demand only")
    else:
        when = iso_or_never(account.next_sync_at)
        console.print(
            f"{account.id} syncs every {account.sync_frequency_minutes} minutes; next at {when}"
        )


def parse_every(text: str) -> int | None:
    if text.strip().lower() in ("off", "never", "manual"):
        return None
    try:
        minutes = int(text)
    except ValueError:
        fail(f"--every/--sync-every takes minutes or 'off', not {text!r}", 2)
    if not MIN_FREQUENCY_MINUTES <= minutes <= MAX_FREQUENCY_MINUTES:
        fail(
            f"the sync cadence must be {MIN_FREQUENCY_MINUTES} to {MAX_FREQUENCY_MINUTES} "
            f"minutes (Cursor aggregates usage hourly), or 'off'",
            2,
        )
    return minutes


@app.command("remove")
def remove(account_id: Annotated[str, typer.Argument(help="The account id.")]) -> None:
    """Remove an account and every row synced for it."""

    async def main(runtime: Runtime) -> None:
        await service.remove_account(runtime, account_id)

    run(main)
    console.print(f"removed {account_id}")
