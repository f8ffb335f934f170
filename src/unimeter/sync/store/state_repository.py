"""SQL for sync runs, per-stream state and the per-account lock."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.base import now_ms
from unimeter.db.models import IntegratedAccount, SyncLock, SyncRun, SyncState
from unimeter.kit.cursors import Position


@dataclass(frozen=True, slots=True)
class StreamState:
    watermark_ms: int | None
    floor_ms: int | None
    settled_at: int | None
    availability: str | None = None
    unavailable_reason: str | None = None
    checked_at: int | None = None
    memory: dict[str, Any] | None = None


def _state(row: SyncState) -> StreamState:
    return StreamState(
        row.watermark_ms,
        row.floor_ms,
        row.settled_at,
        row.availability,
        row.unavailable_reason,
        row.checked_at,
        row.memory,
    )


async def get_state(session: AsyncSession, account_id: str, stream: str) -> StreamState:
    row = await session.get(SyncState, (account_id, stream))
    return StreamState(None, None, None) if row is None else _state(row)


async def save_state(session: AsyncSession, account_id: str, stream: str, **values: Any) -> None:
    row = await session.get(SyncState, (account_id, stream))
    if row is None:
        row = SyncState(account_id=account_id, stream=stream)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = now_ms()


async def all_states(session: AsyncSession, account_id: str) -> dict[str, StreamState]:
    rows = await session.scalars(select(SyncState).where(SyncState.account_id == account_id))
    return {r.stream: _state(r) for r in rows}


async def states_of(
    session: AsyncSession, account_ids: list[str]
) -> dict[str, dict[str, StreamState]]:
    """Every stream state of several accounts, by account then stream, without the streams'
    ``memory``: what a sync carries between runs is no reader's business, and a stream may
    keep megabytes there (parsing them was ~20 ms of every analysis on a 1,000-member team)."""
    out: dict[str, dict[str, StreamState]] = {a: {} for a in account_ids}
    if not account_ids:
        return out
    s = SyncState
    rows = await session.execute(
        select(s.account_id, s.stream, s.watermark_ms, s.floor_ms, s.settled_at,
               s.availability, s.unavailable_reason, s.checked_at)
        .where(s.account_id.in_(account_ids))
    )  # fmt: skip
    for account_id, stream, watermark, floor, settled, availability, reason, checked in rows:
        out[account_id][stream] = StreamState(
            watermark, floor, settled, availability, reason, checked
        )
    return out


# -- runs -----------------------------------------------------------------------------------


async def add_run(session: AsyncSession, run: SyncRun) -> SyncRun:
    session.add(run)
    await session.flush()
    return run


async def get_run(session: AsyncSession, run_id: str) -> SyncRun | None:
    return await session.get(SyncRun, run_id)


async def update_run(session: AsyncSession, run_id: str, **values: Any) -> None:
    await session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))


async def active_run(session: AsyncSession, account_id: str) -> SyncRun | None:
    """The queued or running run of an account, if any (for coalescing requests)."""
    return (
        await session.scalars(
            select(SyncRun)
            .where(SyncRun.account_id == account_id, SyncRun.status.in_(("queued", "running")))
            .order_by(SyncRun.created_at)
            .limit(1)
        )
    ).first()


async def queued_runs(session: AsyncSession) -> list[SyncRun]:
    stmt = select(SyncRun).where(SyncRun.status == "queued").order_by(SyncRun.created_at)
    return list((await session.scalars(stmt)).all())


async def abandoned_runs(session: AsyncSession, now: int, lease_ms: int) -> list[SyncRun]:
    """Runs marked running whose process is gone: no lock of theirs has a fresh lease."""
    fresh_lock = (
        select(SyncLock.account_id)
        .where(SyncLock.run_id == SyncRun.id, SyncLock.heartbeat_at >= now - lease_ms)
        .exists()
    )
    stmt = select(SyncRun).where(
        SyncRun.status == "running", SyncRun.started_at < now - lease_ms, ~fresh_lock
    )
    return list((await session.scalars(stmt)).all())


# -- the per-account lock -------------------------------------------------------------------


def this_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_is_dead(holder: str) -> bool:
    """True when the holder ran on this machine and its process no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True, slots=True)
class LockOutcome:
    acquired: bool
    holder_run_id: str | None = None
    # The run whose lock was taken over because its process died or stopped heartbeating.
    interrupted_run_id: str | None = None


async def try_lock(
    session: AsyncSession, account_id: str, run_id: str, *, lease_ms: int
) -> LockOutcome:
    now = now_ms()
    # INSERT ... ON CONFLICT DO NOTHING: of two racing runs exactly one creates the row, and
    # the other's transaction stays usable (a failed INSERT would poison it on PostgreSQL).
    statement = (
        _insert_ignore(session, SyncLock)
        .values(
            account_id=account_id,
            run_id=run_id,
            holder=this_holder(),
            acquired_at=now,
            heartbeat_at=now,
        )
        .returning(SyncLock.run_id)
    )
    # rowcount is not reliable for INSERT ... ON CONFLICT; a returned row is.
    if (await session.execute(statement)).first() is not None:
        return LockOutcome(True)
    current = await session.get(SyncLock, account_id, with_for_update=True, populate_existing=True)
    if current is None:
        return LockOutcome(False)
    stale = now - current.heartbeat_at > lease_ms or _holder_is_dead(current.holder)
    if not stale:
        return LockOutcome(False, holder_run_id=current.run_id)
    interrupted = current.run_id
    current.run_id, current.holder = run_id, this_holder()
    current.acquired_at = current.heartbeat_at = now
    return LockOutcome(True, interrupted_run_id=interrupted)


def _insert_ignore(session: AsyncSession, table: type[SyncLock]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()


async def heartbeat(session: AsyncSession, account_id: str, run_id: str) -> bool:
    """Renew the lease; False when the lock is no longer ours."""
    result = await session.execute(
        update(SyncLock)
        .where(SyncLock.account_id == account_id, SyncLock.run_id == run_id)
        .values(heartbeat_at=now_ms())
    )
    return bool(getattr(result, "rowcount", 0))


async def unlock(session: AsyncSession, account_id: str, run_id: str) -> None:
    await session.execute(
        delete(SyncLock).where(SyncLock.account_id == account_id, SyncLock.run_id == run_id)
    )


# -- runs as the API lists them -------------------------------------------------------------


async def list_runs(
    session: AsyncSession,
    environment_id: str,
    account_id: str | None,
    position: Position | None,
    limit: int,
) -> list[SyncRun]:
    stmt = (
        select(SyncRun)
        .join(IntegratedAccount, IntegratedAccount.id == SyncRun.account_id)
        .where(IntegratedAccount.environment_id == environment_id)
    )
    if account_id is not None:
        stmt = stmt.where(SyncRun.account_id == account_id)
    stmt = keyset.apply(stmt, [SyncRun.created_at, SyncRun.id], position, limit, descending=True)
    return list((await session.scalars(stmt)).all())


async def run_in_environment(
    session: AsyncSession, environment_id: str, run_id: str
) -> SyncRun | None:
    stmt = (
        select(SyncRun)
        .join(IntegratedAccount, IntegratedAccount.id == SyncRun.account_id)
        .where(IntegratedAccount.environment_id == environment_id, SyncRun.id == run_id)
    )
    return (await session.scalars(stmt)).first()
