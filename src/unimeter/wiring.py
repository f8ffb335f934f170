"""The sync's side of the composition root: a runtime with the real hooks.

- :func:`register_hooks` gives a runtime the effects the sync engine calls but must not
  import (``sync/hooks.py``): opening a vendor's source with the account's credentials,
  webhook events, ``needs_reauth`` on a rejected key, anomaly detection after a sync.
- :func:`open_runtime` is ``unimeter.runtime.open_runtime`` with those hooks registered;
  every entry point opens its runtime here (``unimeter.app`` re-exports both).

Apart from ``unimeter.app`` so that a command that only syncs, links or reports (most of
the CLI) starts without importing the HTTP stack (FastAPI, every router, the dashboard's
templates, the job queue): that was about a second of every such command's start-up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, ParamSpec

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter import runtime as runtimes
from unimeter.accounts import lifecycle
from unimeter.accounts import service as accounts
from unimeter.analytics import anomalies
from unimeter.connectors.source import Source
from unimeter.db.models import IntegratedAccount
from unimeter.notifications import service as notifications
from unimeter.runtime import Runtime
from unimeter.sync.hooks import SyncHooks
from unimeter.unified import service as unified
from unimeter.webhooks.service import add_listener, publish

log = logging.getLogger("unimeter")
P = ParamSpec("P")


def register_hooks(runtime: Runtime) -> Runtime:
    """Give ``runtime`` the real effects of a sync (replacing whatever it had)."""

    def open_source(account: IntegratedAccount) -> AbstractAsyncContextManager[Source]:
        return accounts.open_source(runtime, account)

    async def announce(
        session: AsyncSession, environment_id: str, event_type: str, data: dict[str, Any]
    ) -> None:
        await publish(session, environment_id, event_type, data)

    async def credentials_rejected(session: AsyncSession, account_id: str, error: str) -> None:
        await lifecycle.mark_needs_reauth(session, account_id, error)

    async def detect_anomalies(account: IntegratedAccount) -> None:
        # New data may hold anomalies; finding them must never fail the sync that brought it.
        try:
            await anomalies.detect(runtime, account)
        except Exception:
            log.exception("anomaly detection failed for account %s", account.id)

    async def store_records(session: AsyncSession, account_id: str, days: list[dt.date]) -> int:
        return await unified.store_records(runtime, session, account_id, days)

    # Every published event may also be a Slack or e-mail message, queued in the same
    # transaction (webhooks and notifications are services: neither imports the other).
    add_listener(notifications.enqueue)
    runtime.hooks = SyncHooks(
        open_source=open_source,
        publish=announce,
        credentials_rejected=credentials_rejected,
        after_sync=detect_anomalies,
        store_records=store_records,
    )
    return runtime


def _wired(open_: Callable[P, Awaitable[Runtime]]) -> Callable[P, Awaitable[Runtime]]:
    async def wired(*args: P.args, **kwargs: P.kwargs) -> Runtime:
        return register_hooks(await open_(*args, **kwargs))

    wired.__doc__ = open_.__doc__
    return wired


# ``unimeter.runtime.open_runtime`` (same arguments), with the hooks registered.
open_runtime = _wired(runtimes.open_runtime)
