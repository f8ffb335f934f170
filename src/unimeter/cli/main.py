"""Entry point of the ``unimeter`` command."""

from __future__ import annotations

import typer

from unimeter import __version__
from unimeter.observability import logging as logs

from .accounts import app as accounts_app
from .admin import db_app, keys_app
from .demo import demo_command
from .export import export_command
from .report import app as report_app
from .serve import serve_command
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
app.command("demo")(demo_command)
app.command("simulator")(simulator_command)
app.add_typer(accounts_app, name="accounts")
app.command("sync")(sync_command)
app.command("export")(export_command)
app.add_typer(report_app, name="report")
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(environments_app, name="environments")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")


@app.command("version")
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI; usage errors print one line instead of a help panel."""
    logs.configure()
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        # Click's exception protocol; Typer vendors Click, so match the shape, not the class.
        message = getattr(exc, "format_message", None)
        exit_code = getattr(exc, "exit_code", None)
        if not callable(message) or not isinstance(exit_code, int):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(message(), err=True)
        else:
            typer.echo(f"error: {message()}", err=True)
        raise SystemExit(exit_code) from None
    raise SystemExit(code if isinstance(code, int) else 0)
