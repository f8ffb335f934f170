"""Creating, checking and revoking API tokens; creating environments."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import new_id, now_ms
from unimeter.db.models import ApiToken, Environment, IntegratedAccount
from unimeter.kit import tokens
from unimeter.runtime import Runtime
from unimeter.tenancy import repository as tenancy
from unimeter.tenancy.errors import EnvironmentNotFoundError

from . import repository

# last_used_at is informational; writing it on every request would serialise reads.
TOUCH_EVERY_MS = 60_000


class EnvironmentExistsError(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"an environment named {name!r} already exists")


class TokenNotFoundError(Exception):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no active token {ref!r}")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token and the environment it scopes every query to."""

    token_id: str
    environment_id: str
    environment_name: str


async def create_environment(runtime: Runtime, name: str) -> Environment:
    if not name.strip() or len(name) > 100:
        raise ValueError("an environment name must have 1 to 100 characters")
    async with runtime.db.session() as session:
        if await tenancy.environment_by_name(session, name) is not None:
            raise EnvironmentExistsError(name)
        return await tenancy.ensure_environment(session, name)


async def list_environments(runtime: Runtime) -> Sequence[Environment]:
    async with runtime.db.reader() as session:
        return await tenancy.list_environments(session)


async def create_token(
    runtime: Runtime, environment: str = tenancy.DEFAULT_ENVIRONMENT, name: str | None = None
) -> tuple[ApiToken, str]:
    """A new token; the plaintext is returned here once and never stored."""
    plaintext = tokens.generate()
    async with runtime.db.session() as session:
        env = await tenancy.environment_by_name(session, environment)
        if env is None:
            raise EnvironmentNotFoundError(environment)
        token = ApiToken(
            id=new_id("tok"),
            environment_id=env.id,
            name=name,
            prefix=tokens.display_prefix(plaintext),
            token_hash=tokens.token_hash(plaintext),
        )
        await repository.add_token(session, token)
    return token, plaintext


async def list_tokens(runtime: Runtime, environment: str | None = None) -> Sequence[ApiToken]:
    async with runtime.db.reader() as session:
        env_id = None
        if environment is not None:
            env = await tenancy.environment_by_name(session, environment)
            if env is None:
                raise EnvironmentNotFoundError(environment)
            env_id = env.id
        return await repository.list_tokens(session, env_id)


async def revoke_token(runtime: Runtime, id_or_prefix: str) -> None:
    async with runtime.db.session() as session:
        if not await repository.revoke(session, id_or_prefix, now_ms()):
            raise TokenNotFoundError(id_or_prefix)


async def authenticate(runtime: Runtime, plaintext: str) -> Principal | None:
    if not tokens.looks_valid(plaintext):
        return None
    async with runtime.db.reader() as session:
        found = await repository.active_by_hash(session, tokens.token_hash(plaintext))
    return await _principal(runtime, found)


async def principal_by_id(runtime: Runtime, token_id: str) -> Principal | None:
    """The principal of an active token found by its id (the dashboard's session holds the
    id, never the secret); None once the token is revoked or gone."""
    async with runtime.db.reader() as session:
        found = await repository.active_by_id(session, token_id)
    return await _principal(runtime, found)


async def _principal(
    runtime: Runtime, found: tuple[ApiToken, Environment] | None
) -> Principal | None:
    if found is None:
        return None
    token, env = found
    now = now_ms()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY_MS:
        async with runtime.db.session() as session:
            await repository.touch(session, token.id, now)
    return Principal(token_id=token.id, environment_id=env.id, environment_name=env.name)


class RecentTokens:
    """Tokens verified in the last ``ttl`` seconds, by their SHA-256.

    A read of one account needs the account's row anyway; for a token verified recently it
    asks for the account *and* that the token is still active in that one query
    (:func:`account_for_token`), instead of verifying the token in a query and a session of
    its own first. A revoked token therefore stops working at once, in any process. An
    entry lives ``ttl`` seconds so that a full verification (which keeps ``last_used_at``)
    still happens regularly.
    """

    def __init__(
        self, ttl: float = 30.0, limit: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.limit = limit
        self.clock = clock
        self._known: dict[str, tuple[Principal, float]] = {}

    def get(self, digest: str) -> Principal | None:
        known = self._known.get(digest)
        if known is None or known[1] <= self.clock():
            return None
        return known[0]

    def put(self, digest: str, principal: Principal) -> None:
        if len(self._known) >= self.limit:
            self._known.clear()
        self._known[digest] = (principal, self.clock() + self.ttl)

    def drop(self, digest: str) -> None:
        self._known.pop(digest, None)


@dataclass(frozen=True, slots=True)
class FoundAccount:
    """A caller, the account it reads and the read session that found it."""

    principal: Principal | None
    account: IntegratedAccount | None
    session: AsyncSession


@asynccontextmanager
async def reading_account(
    runtime: Runtime, recent: RecentTokens, plaintext: str, account_id: str
) -> AsyncIterator[FoundAccount]:
    """The caller and the account it asks for (see :func:`account_for_token`), with a read
    session open for the caller to read the account's data in: for a recently verified
    token the check, the account and the data share one session (a session costs more
    than the query that checks the token). A full verification runs in sessions of its
    own before that one opens, so a request never waits for a second connection while it
    holds one."""
    digest = tokens.token_hash(plaintext)
    principal = recent.get(digest)
    if principal is not None:
        async with runtime.db.reader() as session:
            account = await repository.account_for_active_token(
                session, account_id, principal.token_id
            )
            if account is not None:
                yield FoundAccount(principal, account, session)
                return
        recent.drop(digest)  # revoked, or no such account: verify again in full
    principal = await authenticate(runtime, plaintext)
    if principal is not None:
        recent.put(digest, principal)
    async with runtime.db.reader() as session:
        account = None
        if principal is not None:
            account = await tenancy.get_account(session, account_id, principal.environment_id)
        yield FoundAccount(principal, account, session)


async def account_for_token(
    runtime: Runtime, recent: RecentTokens, plaintext: str, account_id: str
) -> tuple[Principal | None, IntegratedAccount | None]:
    """The caller and the account it asks for: (None, None) for an invalid or revoked
    token, (principal, None) when the account is not in the token's environment."""
    async with reading_account(runtime, recent, plaintext, account_id) as found:
        return found.principal, found.account
