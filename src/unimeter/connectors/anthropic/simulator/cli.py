"""``unimeter simulator --vendor anthropic``: run the local Anthropic Admin API simulator
(the command the Anthropic connector declares in its ``SimulatorSpec``)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from .app import create_app
from .config import AnthropicSimConfig, Quirks
from .faults import Fault
from .world import SimulatedAnthropic


class DateFormat(StrEnum):
    RFC3339 = "rfc3339"
    DATE = "date"


def parse_now(value: str) -> int:
    """Epoch ms from an ISO date/datetime (UTC when no offset) or from epoch ms digits."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO date, datetime or epoch ms") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def simulator_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8788,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
    now: Annotated[
        str | None,
        typer.Option(help="Freeze simulated time at this ISO datetime (default: the clock)."),
    ] = None,
    users: Annotated[int, typer.Option(help="Users of the organization.")] = 40,
    days: Annotated[int, typer.Option(help="Days of history.")] = 120,
    admin_key: Annotated[
        list[str] | None,
        typer.Option("--admin-key", help="An organization's admin key; repeat for several."),
    ] = None,
    rate_limit_per_minute: Annotated[
        int | None, typer.Option(help="Requests a minute per organization (omit: 60).")
    ] = 60,
    no_rate_limit: Annotated[bool, typer.Option(help="Switch rate limiting off.")] = False,
    minute_seconds: Annotated[
        float, typer.Option(help="Seconds in one rate-limit minute (1 makes tests fast).")
    ] = 60.0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests that fail (500, 529, 502).")
    ] = 0.0,
    force_fault: Annotated[
        Fault | None,
        typer.Option(help="Answer every request with this status (401 403 404 429 500 502 529)."),
    ] = None,
    non_admin_status: Annotated[
        int, typer.Option(help="Status a normal API key gets on admin paths (401 or 403).")
    ] = 403,
    revision_days: Annotated[int, typer.Option(help="Recent days whose costs get revised.")] = 3,
    extra_fields: Annotated[bool, typer.Option(help="Undocumented fields on records.")] = True,
    date_format: Annotated[
        DateFormat, typer.Option(help="Claude Code row date: rfc3339 or date.")
    ] = DateFormat.RFC3339,
    fractional_cost: Annotated[
        bool, typer.Option(help="Claude Code estimated costs as floats with fractional cents.")
    ] = False,
    subscription_missing: Annotated[
        bool, typer.Option(help="Leave subscription rows out of Claude Code analytics.")
    ] = False,
    shuffle_rows: Annotated[bool, typer.Option(help="Rows of a day in no order.")] = True,
) -> None:
    """Run a local Anthropic Admin API that behaves like the real one."""
    console = Console()
    if non_admin_status not in (401, 403):
        console.print("[red]error:[/red] --non-admin-status must be 401 or 403")
        raise typer.Exit(2)
    try:
        config = AnthropicSimConfig(
            seed=seed,
            now_ms=parse_now(now) if now else None,
            users=users,
            days=days,
            admin_keys=tuple(admin_key or ()),
            non_admin_status=401 if non_admin_status == 401 else 403,
            rate_limit_per_minute=None if no_rate_limit else rate_limit_per_minute,
            minute_seconds=minute_seconds,
            fault_rate=fault_rate,
            force_fault=force_fault,
            revision_days=revision_days,
            quirks=Quirks(
                extra_fields=extra_fields,
                date_format=date_format.value,
                fractional_cost=fractional_cost,
                subscription_missing=subscription_missing,
                shuffle_rows=shuffle_rows,
            ),
        )
        sim = SimulatedAnthropic(config)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    base = f"http://{host}:{port}"
    console.print(f"[bold]Anthropic Admin API simulator[/bold] on {base}")
    # A simulator's keys are not secrets; they are printed here and nowhere else.
    for key in sim.keys:
        org = sim.org(key)
        console.print(f"  organization {org.roster.org_name!r}: {key}", soft_wrap=True)
    console.print(
        f"  non-admin API key (refused on admin paths): {sim.non_admin_key}", soft_wrap=True
    )
    if force_fault is not None:
        console.print(f"  every request fails: --force-fault {force_fault.value}")
    console.print("Try:")
    console.print(
        f"  curl -H 'x-api-key: {sim.keys[0]}' -H 'anthropic-version: 2023-06-01' "
        f"{base}/v1/organizations/users",
        soft_wrap=True,
    )
    uvicorn.run(create_app(sim), host=host, port=port, log_level="warning")
