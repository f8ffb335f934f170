"""``unimeter simulator [--vendor SLUG] [OPTIONS]``: run a vendor's local API simulator.

Each connector may declare a simulator (its ``SimulatorSpec``) with a command of its own:
every option after ``--vendor`` is that command's (``unimeter simulator --help`` shows the
default vendor's, ``unimeter simulator --vendor SLUG --help`` another's).
"""

from __future__ import annotations

from typing import Annotated

import typer

from unimeter.connectors.contract import Connector
from unimeter.connectors.registration import default_registry

# Options are the vendor command's: this command only takes --vendor and forwards the rest.
CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def simulator_command(
    ctx: typer.Context,
    vendor: Annotated[
        str | None,
        typer.Option(help="The vendor whose API to simulate (default: the first that has one)."),
    ] = None,
) -> None:
    """Run a local vendor API that behaves like the real one (--help: its options)."""
    connector = _with_simulator(vendor)
    assert connector.simulator is not None
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(connector.simulator.command())
    command = typer.main.get_command(app)
    name = f"{ctx.command_path} --vendor {connector.slug}"
    code = command.main(args=list(ctx.args), prog_name=name, standalone_mode=False)
    if isinstance(code, int) and code:
        raise typer.Exit(code)


def _with_simulator(slug: str | None) -> Connector:
    registry = default_registry()
    offered = [c for c in registry.all() if c.simulator is not None]
    if slug is None:
        if not offered:
            raise typer.BadParameter("no integration ships a simulator", param_hint="--vendor")
        return offered[0]
    connector = registry.get(slug) if slug in registry else None
    if connector is None or connector.simulator is None:
        names = ", ".join(c.slug for c in offered) or "none"
        raise typer.BadParameter(
            f"no simulator for {slug!r}; simulators: {names}", param_hint="--vendor"
        )
    return connector
