"""SQL for link tokens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db import keyset
from unimeter.db.models import LinkToken
from unimeter.kit.cursors import Position


async def add_link_token(session: AsyncSession, token: LinkToken) -> LinkToken:
    session.add(token)
    await session.flush()
    return token


async def by_hash(session: AsyncSession, token_hash: str) -> LinkToken | None:
    return (
        await session.scalars(select(LinkToken).where(LinkToken.token_hash == token_hash))
    ).first()


async def claim(session: AsyncSession, token_id: str, account_id: str, now: int) -> bool:
    """Mark the token used by ``account_id`` if it is still unused and unexpired.

    One conditional UPDATE: of two concurrent submits only one matches the row (PostgreSQL
    re-checks the condition after the first commits; SQLite writers run one at a time), so
    a link makes one account however many times the form is posted.
    """
    result = await session.execute(
        update(LinkToken)
        .where(
            LinkToken.id == token_id,
            LinkToken.used_at.is_(None),
            LinkToken.expires_at > now,
        )
        .values(used_at=now, account_id=account_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def page_link_tokens(
    session: AsyncSession,
    environment_id: str,
    tenant_id: str | None,
    position: Position | None,
    limit: int,
) -> Sequence[LinkToken]:
    stmt = select(LinkToken).where(LinkToken.environment_id == environment_id)
    if tenant_id is not None:
        stmt = stmt.where(LinkToken.tenant_id == tenant_id)
    columns = [LinkToken.created_at, LinkToken.id]
    return (
        await session.scalars(keyset.apply(stmt, columns, position, limit, descending=True))
    ).all()


async def get_link_token(
    session: AsyncSession, environment_id: str, token_id: str
) -> LinkToken | None:
    stmt = select(LinkToken).where(
        LinkToken.id == token_id, LinkToken.environment_id == environment_id
    )
    return (await session.scalars(stmt)).first()


async def expire(session: AsyncSession, token_id: str, now: int) -> None:
    """End an unused link now (a used one stays as it is: it already made its account)."""
    await session.execute(
        update(LinkToken)
        .where(LinkToken.id == token_id, LinkToken.used_at.is_(None), LinkToken.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
