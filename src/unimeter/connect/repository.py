"""SQL for link tokens."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import LinkToken


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
