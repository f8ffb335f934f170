"""Entry point of the ``unimeter`` command."""

from __future__ import annotations

import os
from typing import Annotated, NoReturn

import typer

from unimeter import __version__
from unimeter.observability import logging as logs

from . import errors
from .accounts import app as accounts_app
from .admin import db_app, keys_app
from .common import print_error
from .demo import demo_command
from .export import export_command
from .mcp import mcp_command
from .notifications import app as notifications_app
from .report import app as report_app
from .report_code import register as register_code_reports
from .report_people import register as register_people_report
from .serve import serve_command
from .simulator import CONTEXT as SIMULATOR_CONTEXT
from .simulator import simulator_command
from .sync import sync_command
from .tokens import environments_app, tokens_app
from .worker import worker_command

app = typer.Typer(
    name="unimeter",
    help="Unified usage metering for AI developer tools, starting with Cursor.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# Commands that run until stopped: their log is an operator's record, warnings and
# tracebacks included. The others speak through their output and one error line, so they
# log only errors (UNIMETER_LOG_LEVEL overrides), each on one line unless --debug.
LONG_RUNNING = frozenset({"serve", "worker", "demo", "simulator"})


@app.callback()
def options(
    ctx: typer.Context,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help=f"Show the traceback of an unexpected error (or set {errors.DEBUG_ENV}=1).",
        ),
    ] = False,
) -> None:
    """Unified usage metering for AI developer tools, starting with Cursor."""
    if debug:
        os.environ[errors.DEBUG_ENV] = "1"
    if ctx.invoked_subcommand not in LONG_RUNNING:
        level = os.environ.get("UNIMETER_LOG_LEVEL", "ERROR")
        logs.configure(level=level, tracebacks=errors.debug_enabled())


app.command("demo")(demo_command)
app.command("simulator", context_settings=SIMULATOR_CONTEXT)(simulator_command)
app.add_typer(accounts_app, name="accounts")
app.command("sync")(sync_command)
app.command("export")(export_command)
register_code_reports(report_app)
register_people_report(report_app)
app.add_typer(report_app, name="report")
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.command("mcp")(mcp_command)
app.add_typer(environments_app, name="environments")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(notifications_app, name="notifications")


@app.command("version")
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI. Whatever goes wrong ends in one line on stderr and a non-zero exit code:
    usage errors, failures a person can act on, and bugs alike (``--debug`` shows a bug's
    traceback)."""
    logs.configure()
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        # Click's exception protocol; Typer vendors Click, so match the shape, not the class.
        message = getattr(exc, "format_message", None)
        exit_code = getattr(exc, "exit_code", None)
        if not callable(message) or not isinstance(exit_code, int):
            _report(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(message(), err=True)
        else:
            typer.echo(f"error: {message()}", err=True)
        raise SystemExit(exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _report(exc: Exception) -> NoReturn:
    if errors.debug_enabled():
        raise exc
    print_error(errors.explain(exc))
    raise SystemExit(1) from None
