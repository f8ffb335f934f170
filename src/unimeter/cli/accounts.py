"""``unimeter accounts``: link, list and remove integrated accounts."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from unimeter.accounts import service
from unimeter.accounts.repository import DEFAULT_ENVIRONMENT
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

from .common import fail, run

app = typer.Typer(help="Link, list and remove integrated accounts.", no_args_is_help=True)
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
) -> None:
    """Validate an API key with the vendor, then store it encrypted."""
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
    table = Table("id", "integration", "tenant", "name", "status", "last synced")
    for a in accounts:
        synced = "never" if a.last_synced_at is None else _ago(a.last_synced_at)
        table.add_row(a.id, a.integration, a.tenant_id or "", a.name or "", a.status, synced)
    console.print(table)


@app.command("remove")
def remove(account_id: Annotated[str, typer.Argument(help="The account id.")]) -> None:
    """Remove an account and every row synced for it."""

    async def main(runtime: Runtime) -> None:
        await service.remove_account(runtime, account_id)

    run(main)
    console.print(f"removed {account_id}")


def _ago(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
