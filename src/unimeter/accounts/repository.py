"""SQL for linking, paging and removing integrated accounts.

Environments, the keyring, account lookups and the data version are the tenancy kernel
(``unimeter.tenancy.repository``), which layers below this one read too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import IntegratedAccount
from unimeter.kit.cursors import Position


async def add_account(session: AsyncSession, account: IntegratedAccount) -> IntegratedAccount:
    session.add(account)
    await session.flush()
    return account


async def delete_account(session: AsyncSession, account_id: str) -> bool:
    """Delete an account; every synced row goes with it (foreign keys cascade)."""
    result = await session.execute(
        delete(IntegratedAccount).where(IntegratedAccount.id == account_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def page_accounts(
    session: AsyncSession,
    environment_id: str,
    *,
    tenant_id: str | None,
    status: str | None,
    position: Position | None,
    limit: int,
) -> Sequence[IntegratedAccount]:
    stmt = select(IntegratedAccount).where(IntegratedAccount.environment_id == environment_id)
    if tenant_id is not None:
        stmt = stmt.where(IntegratedAccount.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(IntegratedAccount.status == status)
    columns = [IntegratedAccount.created_at, IntegratedAccount.id]
    return (await session.scalars(keyset.apply(stmt, columns, position, limit))).all()
