"""Linking, listing and removing integrated accounts; their credentials, encrypted.

Credentials are validated against the vendor before anything is stored, encrypted with the
account id as associated data (a ciphertext copied onto another account will not decrypt),
and only ever decrypted to open a source or proxy a request (formats: ``credentials.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.contract import ProxyRequest, ProxyResponse
from unimeter.connectors.source import Source
from unimeter.db.base import new_id, now_ms
from unimeter.db.models import IntegratedAccount
from unimeter.kit.crypto import MasterKey, key_check, rewrap
from unimeter.notifications.service import rewrap_secrets as rewrap_channel_secrets
from unimeter.runtime import Runtime, write_pending_key
from unimeter.sync.engine import capabilities as stream_capabilities
from unimeter.sync.scheduling import cadence
from unimeter.tenancy import repository as tenancy
from unimeter.tenancy.errors import AccountNotFoundError, EnvironmentNotFoundError
from unimeter.webhooks.service import publish
from unimeter.webhooks.service import rewrap_secrets as rewrap_webhook_secrets

from . import credentials as sealed
from . import lifecycle, repository
from .credentials import CredentialsInput


@dataclass(frozen=True, slots=True)
class LinkRequest:
    integration: str
    # The connector's credential fields by name; a bare string for a connector with one.
    credentials: CredentialsInput
    tenant_id: str | None = None
    name: str | None = None
    base_url: str | None = None
    environment: str = tenancy.DEFAULT_ENVIRONMENT
    sync_frequency_minutes: int | None = cadence.DEFAULT_FREQUENCY_MINUTES


class _Unset:
    """Marks an argument that was not given (``None`` is a value: "on demand only")."""


UNSET = _Unset()


async def link_account(runtime: Runtime, request: LinkRequest) -> IntegratedAccount:
    base_url = await validate_credentials(runtime, request)
    async with runtime.db.session() as session:
        env = await tenancy.environment_by_name(session, request.environment)
        if env is None:
            raise EnvironmentNotFoundError(request.environment)
        return await add_linked_account(runtime, session, env.id, request, base_url)


async def validate_credentials(runtime: Runtime, request: LinkRequest) -> str:
    """The normalised base URL once the vendor accepts the credentials. Raises
    UnknownIntegrationError, CredentialsShapeError, CredentialsRejectedError or
    VendorUnavailableError before anything is stored."""
    connector = runtime.registry.get(request.integration)
    base_url = (request.base_url or connector.default_base_url).rstrip("/")
    await connector.validate(sealed.resolve(connector, request.credentials), base_url)
    return base_url


async def add_linked_account(
    runtime: Runtime,
    session: AsyncSession,
    environment_id: str,
    request: LinkRequest,
    base_url: str,
) -> IntegratedAccount:
    """Store an account whose key was validated, and announce it, in the caller's
    transaction (the Connect page claims its link token in the same one)."""
    account_id = new_id("acc")
    connector = runtime.registry.get(request.integration)
    credentials = sealed.resolve(connector, request.credentials)
    account = IntegratedAccount(
        id=account_id,
        environment_id=environment_id,
        integration=request.integration,
        tenant_id=request.tenant_id,
        name=request.name,
        status="active",
        base_url=base_url,
        credentials=sealed.seal(connector, runtime.key.key, credentials, account_id),
        settings={},
        sync_frequency_minutes=request.sync_frequency_minutes,
        # The first sync (the backfill) is due at once, even for on-demand accounts.
        next_sync_at=runtime.clock(),
    )
    await repository.add_account(session, account)
    await lifecycle.announce(
        session, account, "integrated_account:created", "integrated_account:active"
    )
    return account


async def update_account(
    runtime: Runtime,
    account: IntegratedAccount,
    *,
    name: str | None = None,
    tenant_id: str | None = None,
    credentials: CredentialsInput | None = None,
    sync_frequency_minutes: int | _Unset | None = UNSET,
) -> IntegratedAccount:
    """Change fields; new credentials are validated with the vendor before they replace the
    old ones, and working credentials make a ``needs_reauth`` account active again (its
    schedule resumes with a sync at once)."""
    connector = runtime.registry.get(account.integration)
    checked = None if credentials is None else sealed.resolve(connector, credentials)
    if checked is not None:
        await connector.validate(checked, account.base_url)
    async with runtime.db.session() as session:
        stored = await tenancy.get_account_for_update(session, account.id)
        if stored is None:
            raise AccountNotFoundError(account.id)
        if name is not None:
            stored.name = name
        if tenant_id is not None:
            stored.tenant_id = tenant_id
        if not isinstance(sync_frequency_minutes, _Unset):
            _set_cadence(runtime, stored, sync_frequency_minutes)
        events = ["integrated_account:updated"]
        if checked is not None:
            stored.credentials = sealed.seal(connector, runtime.key.key, checked, stored.id)
            if stored.status == lifecycle.NEEDS_REAUTH:
                stored.next_sync_at = runtime.clock()
                events.append("integrated_account:reactivated")
            stored.status, stored.last_error = "active", None
        stored.updated_at = now_ms()
        await tenancy.bump_data_version(session, stored.id)
        await lifecycle.announce(session, stored, *events)
        return stored


def _set_cadence(runtime: Runtime, account: IntegratedAccount, minutes: int | None) -> None:
    account.sync_frequency_minutes = minutes
    if minutes is None:
        account.next_sync_at = None
        return
    period = cadence.period_ms(minutes, runtime.settings.schedule_minute_ms)
    account.next_sync_at = cadence.next_slot(account.id, period, runtime.clock())


async def list_accounts(
    runtime: Runtime, environment: str | None = None
) -> Sequence[IntegratedAccount]:
    async with runtime.db.reader() as session:
        env_id = None
        if environment is not None:
            env = await tenancy.environment_by_name(session, environment)
            if env is None:
                raise EnvironmentNotFoundError(environment)
            env_id = env.id
        return await tenancy.list_accounts(session, env_id)


async def environment_id(runtime: Runtime, name: str) -> str:
    async with runtime.db.reader() as session:
        env = await tenancy.environment_by_name(session, name)
    if env is None:
        raise EnvironmentNotFoundError(name)
    return env.id


async def get_account(runtime: Runtime, account_id: str) -> IntegratedAccount:
    async with runtime.db.reader() as session:
        account = await tenancy.get_account(session, account_id)
    if account is None:
        raise AccountNotFoundError(account_id)
    return account


async def capabilities(
    runtime: Runtime, accounts: Sequence[IntegratedAccount]
) -> dict[str, list[stream_capabilities.Capability]]:
    """What each account's vendor offers it, stream by stream (``unknown`` before a sync)."""
    return await stream_capabilities.for_accounts(runtime, accounts)


async def remove_account(runtime: Runtime, account_id: str) -> None:
    async with runtime.db.session() as session:
        account = await tenancy.get_account(session, account_id)
        if account is None or not await repository.delete_account(session, account_id):
            raise AccountNotFoundError(account_id)
        await publish(
            session, account.environment_id, "integrated_account:deleted", {"id": account_id}
        )


class NeedsReauthError(Exception):
    def __init__(self, account_id: str) -> None:
        super().__init__(
            f"integrated account {account_id} needs new credentials (the vendor rejected the "
            "stored key); no call is made for it until they are updated"
        )


def ensure_usable(account: IntegratedAccount) -> None:
    """Refuse vendor calls for an account whose key the vendor has rejected."""
    if account.status == lifecycle.NEEDS_REAUTH:
        raise NeedsReauthError(account.id)


async def credentials_rejected(runtime: Runtime, account_id: str, error: str) -> None:
    """The vendor answered 401 for this account: pause it until new credentials arrive."""
    async with runtime.db.session() as session:
        await lifecycle.mark_needs_reauth(session, account_id, error)


def credentials_of(runtime: Runtime, account: IntegratedAccount) -> dict[str, str]:
    """The account's credentials, decrypted: only ever handed to its connector."""
    connector = runtime.registry.get(account.integration)
    return sealed.unseal(connector, runtime.key.key, account.credentials, account.id)


@asynccontextmanager
async def open_source(runtime: Runtime, account: IntegratedAccount) -> AsyncIterator[Source]:
    """The account's source for one sync or live read, closed when the block ends."""
    connector = runtime.registry.get(account.integration)
    async with connector.open_source(credentials_of(runtime, account), account.base_url) as src:
        yield src


async def proxy(
    runtime: Runtime, account: IntegratedAccount, request: ProxyRequest
) -> ProxyResponse:
    """One request forwarded to the account's vendor with its credentials injected."""
    connector = runtime.registry.get(account.integration)
    return await connector.proxy(credentials_of(runtime, account), account.base_url, request)


async def rotate_keys(runtime: Runtime) -> MasterKey:
    """Re-encrypt every stored secret under a new master key, crash-safely.

    The new key is written beside the old one first; the database switches in one
    transaction; then the new key file replaces the old one. A crash in between is
    finished at the next start (see ``runtime._finish_interrupted_rotation``).
    """
    old = runtime.key.key
    new = MasterKey.generate()
    pending = write_pending_key(runtime.settings.data_dir, new)
    async with runtime.db.session() as session:
        for account in await tenancy.list_accounts(session):
            account.credentials = rewrap(account.credentials, aad=account.id, old=old, new=new)
        await rewrap_webhook_secrets(session, old, new)
        await rewrap_channel_secrets(session, old, new)
        await tenancy.save_keyring(session, new.key_id, key_check(new), now_ms())
    if runtime.key.path is not None:
        pending.replace(runtime.key.path)
    return new
