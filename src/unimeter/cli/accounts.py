"""``unimeter accounts``: link, list, schedule and remove integrated accounts."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from unimeter.accounts import service
from unimeter.connectors.contract import Connector
from unimeter.connectors.registration import default_registry
from unimeter.connectors.registry import UnknownIntegrationError
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
    integration: Annotated[
        str, typer.Argument(help="The vendor's slug (`unimeter accounts integrations`).")
    ],
    api_key: Annotated[
        str | None,
        typer.Option(
            help="The key, for an integration whose one credential is a key (or set "
            "<SLUG>_API_KEY, e.g. CURSOR_API_KEY, to keep it out of shell history)."
        ),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            "--credential",
            help="A credential field as NAME=VALUE; repeat for each (missing ones are "
            "read from <SLUG>_<NAME> or prompted for in a terminal).",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="API base URL (default: the vendor's).")
    ] = None,
    tenant_id: Annotated[str | None, typer.Option(help="Your id for this customer.")] = None,
    name: Annotated[str | None, typer.Option(help="A display name.")] = None,
    environment: Annotated[
        str, typer.Option(help="Environment to link into.")
    ] = DEFAULT_ENVIRONMENT,
    sync_every: Annotated[str, typer.Option(help=EVERY_HELP)] = str(DEFAULT_FREQUENCY_MINUTES),
    as_json: Annotated[bool, typer.Option("--json", help="Print the account as JSON.")] = False,
) -> None:
    """Validate credentials with the vendor, then store them encrypted."""
    frequency = parse_every(sync_every)
    try:
        connector = default_registry().get(integration)
    except UnknownIntegrationError as exc:
        fail(str(exc), 2)
    given = credential_options(credential or [])
    if api_key is not None:
        given.setdefault(connector.credential_fields[0].name, api_key)
    request = service.LinkRequest(
        integration=integration,
        credentials=gather_credentials(connector, given),
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


@app.command("integrations")
def integrations(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the vendors that can be linked, and the credentials each one asks for."""
    connectors = default_registry().all()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "slug": c.slug,
                        "name": c.display_name,
                        "credential_fields": [f.name for f in c.credential_fields],
                    }
                    for c in connectors
                ]
            )
        )
        return
    table = Table("slug", "name", "credentials")
    for c in connectors:
        table.add_row(c.slug, c.display_name, ", ".join(f.name for f in c.credential_fields))
    console.print(table)


def credential_options(pairs: list[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field.strip():
            fail(f"--credential takes NAME=VALUE, not {pair.split('=')[0]!r}…", 2)
        given[field.strip()] = value
    return given


def gather_credentials(connector: Connector, given: dict[str, str]) -> dict[str, str]:
    """Each declared field from the options, else the environment, else a prompt (in a
    terminal only: a script gets one error line instead of a hanging read)."""
    declared = {f.name for f in connector.credential_fields}
    unknown = sorted(set(given) - declared)
    if unknown:
        fail(
            f"{connector.slug} has no credential field {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(declared))}",
            2,
        )
    credentials: dict[str, str] = {}
    for field in connector.credential_fields:
        env = f"{connector.slug}_{field.name}".upper()
        value = given.get(field.name) or os.environ.get(env, "")
        if not value.strip() and sys.stdin.isatty():
            value = typer.prompt(field.label, hide_input=field.secret)
        if not value.strip():
            option = "--api-key KEY" if len(declared) == 1 else f"--credential {field.name}=…"
            fail(f"{field.label} is required: {option} or {env}", 2)
        credentials[field.name] = value.strip()
    return credentials


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
            "minutes, or 'off'",
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
