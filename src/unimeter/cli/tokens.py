"""``unimeter environments`` and ``unimeter tokens``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from unimeter.auth import service
from unimeter.auth.service import EnvironmentExistsError, TokenNotFoundError
from unimeter.db.models import ApiToken, Environment
from unimeter.runtime import Runtime
from unimeter.tenancy.repository import DEFAULT_ENVIRONMENT

from .common import fail, iso_or_never, run

environments_app = typer.Typer(help="Isolated workspaces for your data.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (each opens one environment).", no_args_is_help=True)
console = Console(highlight=False)


@environments_app.command("create")
def create_environment(name: Annotated[str, typer.Argument(help="A unique name.")]) -> None:
    """Create an environment."""

    async def main(runtime: Runtime) -> Environment:
        return await service.create_environment(runtime, name)

    try:
        environment = run(main)
    except (EnvironmentExistsError, ValueError) as exc:
        fail(str(exc))
    console.print(f"created environment {environment.name!r} ({environment.id})")


@environments_app.command("list")
def list_environments(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List environments."""

    async def main(runtime: Runtime) -> list[Environment]:
        return list(await service.list_environments(runtime))

    environments = run(main)
    if as_json:
        typer.echo(json.dumps([{"id": e.id, "name": e.name} for e in environments]))
        return
    table = Table("id", "name", "created")
    for e in environments:
        table.add_row(e.id, e.name, iso_or_never(e.created_at))
    console.print(table)


@tokens_app.command("create")
def create_token(
    environment: Annotated[
        str, typer.Option(help="The environment it opens.")
    ] = DEFAULT_ENVIRONMENT,
    name: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {id, token, environment}.")
    ] = False,
) -> None:
    """Create an API token. It is shown once and stored only as a hash."""

    async def main(runtime: Runtime) -> tuple[ApiToken, str]:
        return await service.create_token(runtime, environment, name)

    token, plaintext = run(main)
    if as_json:
        typer.echo(json.dumps({"id": token.id, "token": plaintext, "environment": environment}))
        return
    console.print(f"token for environment {environment!r} (shown once, keep it safe):")
    typer.echo(plaintext)


@tokens_app.command("list")
def list_tokens(
    environment: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
) -> None:
    """List tokens (their prefixes only)."""

    async def main(runtime: Runtime) -> list[ApiToken]:
        return list(await service.list_tokens(runtime, environment))

    table = Table("id", "prefix", "name", "created", "last used", "revoked")
    for t in run(main):
        table.add_row(
            t.id, t.prefix + "…", t.name or "", iso_or_never(t.created_at),
            iso_or_never(t.last_used_at), iso_or_never(t.revoked_at) if t.revoked_at else "",
        )  # fmt: skip
    console.print(table)


@tokens_app.command("revoke")
def revoke_token(token: Annotated[str, typer.Argument(help="A token id or its prefix.")]) -> None:
    """Revoke a token; requests with it are refused from now on."""

    async def main(runtime: Runtime) -> None:
        await service.revoke_token(runtime, token)

    try:
        run(main)
    except TokenNotFoundError as exc:
        fail(str(exc))
    console.print(f"revoked {token}")
