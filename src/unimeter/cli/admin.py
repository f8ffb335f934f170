"""``unimeter db`` and ``unimeter keys``: migrations and master-key rotation."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from unimeter.accounts.service import rotate_keys
from unimeter.config import Settings
from unimeter.db.migrate import current_revision, upgrade
from unimeter.kit.keys import ENV_VAR
from unimeter.runtime import PENDING_KEY_SUFFIX, Runtime

from .common import fail, run

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(
    help="The master key that encrypts stored credentials.", no_args_is_help=True
)
console = Console(highlight=False)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (SQLite or PostgreSQL)."""
    settings = Settings()
    url = settings.resolved_database_url
    try:
        asyncio.run(
            asyncio.to_thread(upgrade, url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        )
    except ValueError as exc:
        fail(str(exc))
    console.print(f"database at revision {current_revision(url)}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under a new master key."""

    async def main(runtime: Runtime) -> str:
        await rotate_keys(runtime)
        if runtime.key.origin == "env":
            pending = runtime.settings.data_dir / f"secret.key{PENDING_KEY_SUFFIX}"
            return (
                f"secrets re-encrypted; the new key is in {pending}: set {ENV_VAR} to its "
                "contents before the next start, then delete the file"
            )
        return f"secrets re-encrypted; new key written to {runtime.key.path}"

    console.print(run(main))
