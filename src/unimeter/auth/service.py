"""Creating, checking and revoking API tokens; creating environments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from unimeter.db.base import new_id, now_ms
from unimeter.db.models import ApiToken, Environment
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
