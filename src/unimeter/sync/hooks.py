"""What a sync causes outside its own tables, as hooks the composition root registers.

The engine owns runs, locks, watermarks and the synced records. What else a sync means
(opening the vendor's source with decrypted credentials, an event for webhook subscribers,
pausing an account whose key the vendor rejected, anomaly detection over the new data,
rendering the usage records an API page reads as stored)
belongs to packages above it, so the engine calls these hooks instead of importing them.
``unimeter.app`` registers the real effects on every runtime an entry point opens; the
defaults do nothing, so the engine runs alone (its own tests, a throw-away live store).

The data version is not a hook: it is tenancy's column, bumped in the same transaction as
the rows that changed, so a cached answer can never outlive the data it was built from.

The runtime carries the hooks, so this module stands below it: it imports only
connectors, db and the standard library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.source import Source
from unimeter.db.models import IntegratedAccount

# A source for one sync of the account, closed when the block ends.
OpenSource = Callable[[IntegratedAccount], AbstractAsyncContextManager[Source]]
# (session, environment id, event type, data): announce an event in the caller's
# transaction, so it is delivered if and only if the change it reports is committed.
Publish = Callable[[AsyncSession, str, str, dict[str, Any]], Awaitable[None]]
# (session, account id, the vendor's message): the vendor answered 401 for the account.
CredentialsRejected = Callable[[AsyncSession, str, str], Awaitable[None]]
# After a successful sync, outside its transactions (must not fail the sync).
AfterSync = Callable[[IntegratedAccount], Awaitable[None]]
# (session, account id, days): render the stored usage records of days whose rollups were
# just rebuilt, in the rebuild's transaction (no days: only check the stored rendering is
# current); returns how many were rendered.
StoreRecords = Callable[[AsyncSession, str, list[dt.date]], Awaitable[int]]


class NoSourceError(Exception):
    """No entry point registered how to open a vendor's source."""


def _no_source(account: IntegratedAccount) -> AbstractAsyncContextManager[Source]:
    raise NoSourceError(
        f"cannot open a source for account {account.id}: no connector hook is registered "
        "(open the runtime through unimeter.app)"
    )


async def _ignore_event(
    _session: AsyncSession, _environment_id: str, _event_type: str, _data: dict[str, Any]
) -> None:
    return None


async def _ignore_rejection(_session: AsyncSession, _account_id: str, _error: str) -> None:
    return None


async def _nothing_after(_account: IntegratedAccount) -> None:
    return None


async def _no_records(_session: AsyncSession, _account_id: str, _days: list[dt.date]) -> int:
    return 0


@dataclass(frozen=True, slots=True)
class SyncHooks:
    open_source: OpenSource = _no_source
    publish: Publish = _ignore_event
    credentials_rejected: CredentialsRejected = _ignore_rejection
    after_sync: AfterSync = _nothing_after
    store_records: StoreRecords = _no_records
