"""``unimeter simulator --vendor cursor``: run the local Cursor API simulator (the command
the Cursor connector declares in its ``SimulatorSpec``)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from .app import create_app
from .config import Quirks, SimulatorConfig
from .faults import Fault
from .world import SimulatedCursor


class PlanChoice(StrEnum):
    ENTERPRISE = "enterprise"
    TEAM = "team"


class RateLimitChoice(StrEnum):
    REAL = "real"
    OFF = "off"


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
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
    now: Annotated[
        str | None,
        typer.Option(
            help="Freeze simulated time at this ISO datetime (default: follow the clock)."
        ),
    ] = None,
    users: Annotated[int, typer.Option(help="Members per team.")] = 40,
    days: Annotated[int, typer.Option(help="Days of history per team.")] = 120,
    retention_days: Annotated[
        int | None,
        typer.Option(help="Days after which data is no longer returned (default: --days)."),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option("--api-key", help="A team's admin API key; repeat for several teams."),
    ] = None,
    read_only_key: Annotated[
        list[str] | None,
        typer.Option(
            "--read-only-key",
            help="A key that authenticates but lacks the admin scope (answers 401); repeatable.",
        ),
    ] = None,
    plan: Annotated[
        PlanChoice,
        typer.Option(help="The teams' Cursor plan: team is refused Enterprise-only endpoints."),
    ] = PlanChoice.ENTERPRISE,
    rate_limits: Annotated[
        RateLimitChoice, typer.Option(help="Enforce Cursor's rate limits or not.")
    ] = RateLimitChoice.REAL,
    minute_seconds: Annotated[
        float, typer.Option(help="Seconds in one rate-limit minute (1 makes tests fast).")
    ] = 60.0,
    fault_rate: Annotated[
        float, typer.Option(help="Share of requests that fail (5xx, drops, slow, truncated).")
    ] = 0.0,
    force_fault: Annotated[
        Fault | None,
        typer.Option(
            help="Answer every request with this fault (after authentication): a status "
            "(401, 403, 404, 429, 500, 502, 503), a dropped connection (drop), a cut body "
            "(truncate), an HTML page instead of JSON (html), or a slow answer (slow)."
        ),
    ] = None,
    slow_seconds: Annotated[float, typer.Option(help="Delay of an injected slow response.")] = 2.0,
    activity_scale: Annotated[
        float, typer.Option(help="Multiplies every member's activity.")
    ] = 1.0,
    removed_user_email: Annotated[
        bool, typer.Option(help="Blank userEmail on removed members' events.")
    ] = True,
    cost_adjustments: Annotated[
        bool, typer.Option(help="Adjust recent events' costs retroactively.")
    ] = True,
    fractional_cents: Annotated[bool, typer.Option(help="Cents with many decimals.")] = True,
    extra_fields: Annotated[bool, typer.Option(help="Undocumented fields on records.")] = True,
    late_arrivals: Annotated[
        bool, typer.Option(help="Events show up to 3 hours after they happen.")
    ] = True,
    conversation_insights: Annotated[
        bool, typer.Option(help="Conversation Insights enabled (off: the endpoint answers 401).")
    ] = True,
    enterprise_days: Annotated[
        int | None,
        typer.Option(help="Last days with AI Code Tracking and Analytics data (default: all)."),
    ] = None,
    agent_days: Annotated[
        int | None,
        typer.Option(help="Last days whose cloud agents are still listed (default: all)."),
    ] = None,
) -> None:
    """Run a local Cursor Admin API that behaves like the real one."""
    console = Console()
    try:
        config = SimulatorConfig(
            seed=seed,
            now_ms=parse_now(now) if now else None,
            users=users,
            days=days,
            retention_days=retention_days,
            api_keys=tuple(api_key or ()),
            read_only_keys=tuple(read_only_key or ()),
            plan=plan.value,
            rate_limits=rate_limits.value,
            minute_seconds=minute_seconds,
            fault_rate=fault_rate,
            force_fault=force_fault,
            slow_seconds=slow_seconds,
            activity_scale=activity_scale,
            conversation_insights=conversation_insights,
            enterprise_days=enterprise_days,
            agent_days=agent_days,
            quirks=Quirks(
                removed_user_email=removed_user_email,
                cost_adjustments=cost_adjustments,
                fractional_cents=fractional_cents,
                extra_fields=extra_fields,
                late_arrivals=late_arrivals,
            ),
        )
        sim = SimulatedCursor(config)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    base = f"http://{host}:{port}"
    console.print(f"[bold]Cursor API simulator[/bold] on {base} ({config.plan} plan)")
    for key in sim.keys:
        team = sim.team(key)
        console.print(f"  team {team.roster.team_name!r} ({len(team.members)} members): {key}")
    for key in config.read_only_keys:
        console.print(f"  read-only key (no admin scope): {key}", soft_wrap=True)
    if force_fault is not None:
        console.print(f"  every request fails: --force-fault {force_fault.value}")
    console.print("Try:")
    console.print(
        f"  curl -u {sim.keys[0]}: -X POST {base}/teams/filtered-usage-events "
        "-H 'content-type: application/json' -d '{}'",
        soft_wrap=True,
    )
    uvicorn.run(create_app(sim), host=host, port=port, log_level="warning")
