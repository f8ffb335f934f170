"""Opening the store: migrations, the master key (verified, fail-closed) and the connector
registry.

Every entry point (CLI command, API server, worker) goes through :func:`open_runtime`, so
no process can run against a database whose secrets it cannot decrypt.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from unimeter.config import Settings
from unimeter.connectors.contract import Connector
from unimeter.connectors.registration import default_registry
from unimeter.connectors.registry import ConnectorRegistry
from unimeter.db.base import now_ms
from unimeter.db.engine import Database
from unimeter.db.migrate import upgrade
from unimeter.kit.crypto import (
    MasterKey,
    MissingKeyError,
    SecretError,
    WrongKeyError,
    key_check,
    verify_key_check,
)
from unimeter.kit.keys import ENV_VAR, KEY_FILE_NAME, KeySource, load_master_key, write_key_file
from unimeter.kit.netpolicy import check_url
from unimeter.sync.hooks import SyncHooks
from unimeter.tenancy import repository as tenancy

log = logging.getLogger("unimeter")

PENDING_KEY_SUFFIX = ".new"
# Lets a private address through the callback-URL check (tests, a local receiver).
PRIVATE_CALLBACKS_OPT_IN = "UNIMETER_ALLOW_PRIVATE_WEBHOOKS"


class StartupError(Exception):
    """The process must not start; the message says why and what to do, on one line."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    key: KeySource
    # The vendors this process can link and sync (tests may register more).
    registry: ConnectorRegistry = field(default_factory=ConnectorRegistry)
    # Epoch ms "now" for planning sync windows; tests bind it to a simulator's clock.
    clock: Callable[[], int] = now_ms
    # What a sync causes beyond its own tables; unimeter.app registers the real effects.
    hooks: SyncHooks = field(default_factory=SyncHooks)

    def connector(self, integration: str) -> Connector:
        """Shorthand for ``registry.get``; UnknownIntegrationError for an unknown slug."""
        return self.registry.get(integration)

    def checked_callback_url(self, url: str, *, resolve: bool = True) -> str:
        """``url`` if we may send to it: an outbound target an API caller chose (a webhook
        endpoint, a notification channel). Raises ``URLRefusedError`` otherwise."""
        return check_url(
            url,
            allow_private=self.settings.allow_private_webhooks,
            resolve=resolve,
            opt_in=PRIVATE_CALLBACKS_OPT_IN,
        )

    async def close(self) -> None:
        await self.db.dispose()


async def open_runtime(
    settings: Settings | None = None,
    *,
    registry: ConnectorRegistry | None = None,
    clock: Callable[[], int] = now_ms,
) -> Runtime:
    settings = settings or Settings()
    url = settings.resolved_database_url
    try:
        if settings.auto_migrate:
            await asyncio.to_thread(upgrade, url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        db = Database(
            url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    try:
        key = await _verified_key(db, settings.data_dir)
        async with db.session() as session:
            await tenancy.ensure_environment(session, tenancy.DEFAULT_ENVIRONMENT)
    except BaseException:
        await db.dispose()
        raise
    return Runtime(
        settings=settings, db=db, key=key, registry=registry or default_registry(), clock=clock
    )


async def _verified_key(db: Database, data_dir: Path) -> KeySource:
    async with db.session() as session:
        ring = await tenancy.get_keyring(session)
        if ring is None:
            source = _load(data_dir, create=True)
            await tenancy.save_keyring(session, source.key.key_id, key_check(source.key), None)
            return source
        _finish_interrupted_rotation(data_dir, ring.check)
        source = _load(data_dir, create=False)
        try:
            verify_key_check(source.key, ring.check)
        except SecretError as exc:
            where = ENV_VAR if source.origin == "env" else str(source.path)
            raise StartupError(
                f"the secret key in {where} is not the one that encrypted the stored "
                "credentials; restore the right key (unimeter refuses to start without it)"
            ) from exc
        return source


def _load(data_dir: Path, *, create: bool) -> KeySource:
    try:
        return load_master_key(data_dir, create=create)
    except MissingKeyError as exc:
        raise StartupError(
            f"stored credentials exist but no secret key was found: set {ENV_VAR} or restore "
            f"{data_dir / KEY_FILE_NAME}"
        ) from exc
    except SecretError as exc:
        raise StartupError(str(exc)) from exc


def _finish_interrupted_rotation(data_dir: Path, check: str) -> None:
    """A rotation writes the new key beside the old one before committing; if the process
    died after the commit, the pending key is the right one: promote it."""
    pending = data_dir / (KEY_FILE_NAME + PENDING_KEY_SUFFIX)
    if os.environ.get(ENV_VAR) or not pending.exists():
        return
    try:
        key = _read_pending(pending)
        verify_key_check(key, check)
    except (WrongKeyError, SecretError):
        pending.unlink(missing_ok=True)  # the commit never happened; the old key stays
        return
    os.replace(pending, data_dir / KEY_FILE_NAME)
    log.warning("completed an interrupted key rotation")


def _read_pending(path: Path) -> MasterKey:
    return MasterKey.from_b64(path.read_text().strip())


def write_pending_key(data_dir: Path, key: MasterKey) -> Path:
    path = data_dir / (KEY_FILE_NAME + PENDING_KEY_SUFFIX)
    write_key_file(path, key)
    return path
