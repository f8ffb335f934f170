"""Request dependencies: the runtime, the caller (token → environment), the account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, ClassVar, TypeVar

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.auth.service import (
    Principal,
    RecentTokens,
    account_for_token,
    authenticate,
    reading_account,
)
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime
from unimeter.tenancy import repository as tenancy

from .errors import ApiError, not_found
from .query_models import QueryModel
from .ratelimit import Limit, RateLimiter

_bearer = HTTPBearer(auto_error=False, description="An API token: `unimeter tokens create`")


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain function dependency in its thread pool, a thread hop
    # (and a wait for the GIL) on every request for an attribute read.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def parse_limit(text: str) -> Limit | None:
    """``"50/10"`` → 50 requests per 10 seconds; ``"off"`` → no limit."""
    if text.strip().lower() in ("off", "none", "0", ""):
        return None
    count, _, seconds = text.partition("/")
    return Limit(int(count), float(seconds or 1))


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "missing API token: send Authorization: Bearer <token>")
    return credentials.credentials


def _admitted(request: Request, principal: Principal | None) -> Principal:
    """The caller, once its token is known valid and within its rate limit."""
    if principal is None:
        raise ApiError(401, "invalid or revoked API token")
    _limiter(request).check(f"token:{principal.token_id}", request.app.state.token_limit)
    return principal


async def get_principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _admitted(request, await authenticate(runtime, _bearer_token(credentials)))


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def account_in_scope(
    runtime: Runtime, principal: Principal, account_id: str
) -> IntegratedAccount:
    """The account if it belongs to the caller's environment; 404 otherwise, exactly as if
    it did not exist."""
    async with runtime.db.reader() as session:
        account = await tenancy.get_account(session, account_id, principal.environment_id)
    if account is None:
        raise not_found("integrated account")
    return account


AccountId = Annotated[
    str, Query(description="The integrated account to read from.", min_length=1, max_length=64)
]


def _in_scope(
    request: Request, principal: Principal | None, account: IntegratedAccount | None
) -> IntegratedAccount:
    _admitted(request, principal)
    if account is None:
        raise not_found("integrated account")
    _limiter(request).check(f"account:{account.id}", request.app.state.account_limit)
    return account


async def get_account(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    integrated_account_id: AccountId,
) -> IntegratedAccount:
    """The account, for a caller whose token is checked in the same query when it was
    verified recently (see :class:`~unimeter.auth.service.RecentTokens`)."""
    recent: RecentTokens = request.app.state.recent_tokens
    principal, account = await account_for_token(
        runtime, recent, _bearer_token(credentials), integrated_account_id
    )
    return _in_scope(request, principal, account)


AccountDep = Annotated[IntegratedAccount, Depends(get_account)]


@dataclass(frozen=True, slots=True)
class AccountRead:
    """The account a request reads, and the read session to read its data in."""

    account: IntegratedAccount
    session: AsyncSession


async def get_account_read(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    integrated_account_id: AccountId,
) -> AsyncIterator[AccountRead]:
    """As :func:`get_account`, with the read session that found the account, open for the
    route to read the account's data in (one session a request instead of two)."""
    # The runtime comes from the app, not as a dependency: each one FastAPI resolves costs
    # more than the attribute read.
    plaintext = _bearer_token(credentials)
    async with account_read(request, integrated_account_id, plaintext) as read:
        yield read


AccountReadDep = Annotated[AccountRead, Depends(get_account_read, scope="function")]


class AccountQuery(QueryModel):
    """The parameters of a route that reads an account, for :func:`account_read`."""

    integrated_account_id: AccountId  # the dependency's parameter, as a field
    # The API token, read as the dependencies read it (the scheme they document).
    security: ClassVar[tuple[str, ...]] = (_bearer.scheme_name,)


Q = TypeVar("Q", bound=AccountQuery)
_ACCOUNT_PARAMETER = "integrated_account_id"


async def parse_account_query(request: Request, model: type[Q]) -> Q:
    """The route's parameters. When they fail validation, the token and the account are
    checked first, as with :data:`AccountReadDep` (FastAPI runs the account dependency
    before it validates the route's own parameters): a caller without a valid token or
    without the account hears 401 or 404, not which of its parameters were wrong."""
    try:
        return model.parse(request)
    except RequestValidationError as exc:
        if not any(error["loc"][:2] == ("query", _ACCOUNT_PARAMETER) for error in exc.errors()):
            async with account_read(request, request.query_params[_ACCOUNT_PARAMETER]):
                pass
        raise


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@asynccontextmanager
async def account_read(
    request: Request, account_id: str, plaintext: str | None = None
) -> AsyncIterator[AccountRead]:
    """The caller's account, read (see :func:`get_account_read`, which uses it). A route
    that parses its own parameters (an :class:`AccountQuery`) calls it directly, with the
    token read from the request: for the busiest reads, resolving the dependency, its token
    and its parameter cost FastAPI more than the query that checks them."""
    if plaintext is None:
        plaintext = _bearer_token(await _bearer(request))  # as the dependency reads it
    recent: RecentTokens = request.app.state.recent_tokens
    async with reading_account(runtime_of(request), recent, plaintext, account_id) as found:
        yield AccountRead(_in_scope(request, found.principal, found.account), found.session)
