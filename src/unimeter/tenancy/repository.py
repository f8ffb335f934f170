"""SQL for environments, the keyring, account rows and their data version."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id
from unimeter.db.engine import mark_changed
from unimeter.db.models import Environment, IntegratedAccount, Keyring

DEFAULT_ENVIRONMENT = "default"


async def environment_by_name(session: AsyncSession, name: str) -> Environment | None:
    return (await session.scalars(select(Environment).where(Environment.name == name))).first()


async def ensure_environment(session: AsyncSession, name: str) -> Environment:
    found = await environment_by_name(session, name)
    if found is None:
        found = Environment(id=new_id("env"), name=name)
        session.add(found)
        await session.flush()
    return found


async def list_environments(session: AsyncSession) -> Sequence[Environment]:
    return (await session.scalars(select(Environment).order_by(Environment.created_at))).all()


async def get_account(
    session: AsyncSession, account_id: str, environment_id: str | None = None
) -> IntegratedAccount | None:
    stmt = select(IntegratedAccount).where(IntegratedAccount.id == account_id)
    if environment_id is not None:
        stmt = stmt.where(IntegratedAccount.environment_id == environment_id)
    return (await session.scalars(stmt)).first()


async def get_account_for_update(
    session: AsyncSession, account_id: str
) -> IntegratedAccount | None:
    stmt = select(IntegratedAccount).where(IntegratedAccount.id == account_id).with_for_update()
    return (await session.scalars(stmt)).first()


async def list_accounts(
    session: AsyncSession, environment_id: str | None = None
) -> Sequence[IntegratedAccount]:
    stmt = select(IntegratedAccount).order_by(IntegratedAccount.created_at, IntegratedAccount.id)
    if environment_id is not None:
        stmt = stmt.where(IntegratedAccount.environment_id == environment_id)
    return (await session.scalars(stmt)).all()


async def due_accounts(session: AsyncSession, now: int, limit: int) -> Sequence[IntegratedAccount]:
    """Active accounts whose scheduled sync is due, locked for this scheduler.

    ``SKIP LOCKED``: schedulers in several processes each take different accounts instead
    of queueing behind one another (PostgreSQL; SQLite has one writer anyway).
    """
    stmt = (
        select(IntegratedAccount)
        .where(
            IntegratedAccount.status == "active",
            IntegratedAccount.next_sync_at.is_not(None),
            IntegratedAccount.next_sync_at <= now,
        )
        .order_by(IntegratedAccount.next_sync_at, IntegratedAccount.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(stmt)).all()


async def bump_data_version(session: AsyncSession, account_id: str) -> None:
    """Mark the account's data as changed (in the caller's transaction): cached answers
    keyed on the old version are stale from the commit on, and this process's commit hooks
    hear of it then."""
    mark_changed(session, account_id)
    await session.execute(
        update(IntegratedAccount)
        .where(IntegratedAccount.id == account_id)
        .values(data_version=IntegratedAccount.data_version + 1)
    )


async def data_versions(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, int]:
    rows = await session.execute(
        select(IntegratedAccount.id, IntegratedAccount.data_version).where(
            IntegratedAccount.id.in_(list(account_ids))
        )
    )
    return dict(rows.all())


async def get_keyring(session: AsyncSession) -> Keyring | None:
    return await session.get(Keyring, "master")


async def save_keyring(
    session: AsyncSession, key_id: str, check: str, rotated_at: int | None
) -> None:
    row = await session.get(Keyring, "master")
    if row is None:
        session.add(Keyring(id="master", key_id=key_id, check=check))
    else:
        row.key_id, row.check, row.rotated_at = key_id, check, rotated_at
