"""Account status changes and the webhook events they cause, inside the caller's
transaction (so the event is delivered if and only if the change is committed)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import now_ms
from unimeter.db.models import IntegratedAccount
from unimeter.tenancy import repository as tenancy
from unimeter.webhooks.service import publish

from .schemas import AccountOut

log = logging.getLogger("unimeter.accounts")

NEEDS_REAUTH = "needs_reauth"


async def announce(session: AsyncSession, account: IntegratedAccount, *event_types: str) -> None:
    await session.flush()
    data = AccountOut.of(account).model_dump(mode="json", exclude={"capabilities"})
    for event_type in event_types:
        await publish(session, account.environment_id, event_type, data)


async def mark_needs_reauth(session: AsyncSession, account_id: str, error: str) -> bool:
    """Move the account to ``needs_reauth`` (schedule paused, no more vendor calls) and
    announce it once; False when it was already there or is gone."""
    account = await tenancy.get_account_for_update(session, account_id)
    if account is None or account.status == NEEDS_REAUTH:
        return False
    account.status, account.last_error = NEEDS_REAUTH, error
    account.updated_at = now_ms()
    log.warning("account %s needs new credentials: %s", account_id, error)
    await announce(session, account, "integrated_account:authentication_error")
    return True
