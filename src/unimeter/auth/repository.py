"""SQL for API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import instrumentation

from unimeter.db import direct
from unimeter.db.models import ApiToken, Environment, IntegratedAccount


async def add_token(session: AsyncSession, token: ApiToken) -> ApiToken:
    session.add(token)
    await session.flush()
    return token


async def active_by_hash(
    session: AsyncSession, token_hash: str
) -> tuple[ApiToken, Environment] | None:
    row = (
        await session.execute(
            select(ApiToken, Environment)
            .join(Environment, Environment.id == ApiToken.environment_id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def active_by_id(session: AsyncSession, token_id: str) -> tuple[ApiToken, Environment] | None:
    """A token by its id, unless revoked (a deleted token or environment is simply gone)."""
    row = (
        await session.execute(
            select(ApiToken, Environment)
            .join(Environment, Environment.id == ApiToken.environment_id)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def list_tokens(session: AsyncSession, environment_id: str | None) -> Sequence[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.created_at)
    if environment_id is not None:
        stmt = stmt.where(ApiToken.environment_id == environment_id)
    return (await session.scalars(stmt)).all()


async def revoke(session: AsyncSession, id_or_prefix: str, now: int) -> int:
    result = await session.execute(
        update(ApiToken)
        .where(or_(ApiToken.id == id_or_prefix, ApiToken.prefix == id_or_prefix))
        .where(ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def touch(session: AsyncSession, token_id: str, now: int) -> None:
    await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


# Built once: every read of an account runs it, and building it cost more than running it.
_A = IntegratedAccount.__table__.c
_ACCOUNT_FOR_ACTIVE_TOKEN = (
    select(*_A)
    .join(ApiToken, ApiToken.environment_id == _A.environment_id)
    .where(
        _A.id == bindparam("account"),
        ApiToken.id == bindparam("token"),
        ApiToken.revoked_at.is_(None),
    )
)


async def account_for_active_token(
    session: AsyncSession, account_id: str, token_id: str
) -> IntegratedAccount | None:
    """The account, if it is in the token's environment and the token is still active: one
    query that checks both (a token revoked a moment ago finds nothing). Every request of
    an account runs it, so it reads a plain row (``db.direct``) and the account is built
    from it, detached: loading an ORM object cost more than the query."""
    params = {"account": account_id, "token": token_id}
    found = await direct.rows(session, _ACCOUNT_FOR_ACTIVE_TOKEN, params)
    return _account(found[0]) if found else None


_ACCOUNTS = instrumentation.manager_of_class(IntegratedAccount)


def _account(row: Any) -> IntegratedAccount:
    """A transient account holding the row's values, as a query would have loaded them:
    its values go into the instance's dictionary unrecorded (no attribute events), which
    cost ~1 µs where the constructor, recording each as a change, cost ~18."""
    account: IntegratedAccount = _ACCOUNTS.new_instance()
    account.__dict__.update(row._asdict())
    return account
