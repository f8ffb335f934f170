"""HTTP routes of the hosted link flow.

``POST /link-tokens`` is a platform route (API token). The Connect page is public: the link
token in its URL is the capability, so the page never needs a session or cookie. A form post
carrying a foreign ``Origin`` is refused, which stops another site from submitting a key on
the visitor's behalf even if it learned a link.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Query, Request, Response, status
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse

from unimeter.api.deps import PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ApiError, not_found
from unimeter.api.origin import same_origin
from unimeter.api.pagination import ListResponse, envelope, read_cursor
from unimeter.api.ratelimit import Limit, RateLimiter
from unimeter.connectors.registry import UnknownIntegrationError
from unimeter.db.keyset import slice_page
from unimeter.db.models import LinkToken
from unimeter.kit.netpolicy import URLRefusedError, check_url
from unimeter.runtime import Runtime
from unimeter.sync.scheduling.dispatch import SyncDispatch

from . import pages, repository, service
from .schemas import LinkTokenCreate, LinkTokenInfo, LinkTokenOut

router = APIRouter(tags=["connect"])
STATIC = Path(__file__).parent / "static"
# Each submit costs a call to the vendor from our address: a link may not hammer it.
ATTEMPTS = Limit(10, 60.0)


@router.post(
    "/link-tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkTokenOut,
    responses=COMMON_ERRORS,
)
async def create_link_token(
    body: LinkTokenCreate,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    principal: PrincipalDep,
) -> LinkTokenOut:
    """A single-use link to the Connect page, where your customer pastes the credentials of
    the ``integration`` (an admin API key, say). The account is created in your token's
    environment with this ``tenant_id`` and ``name``. The token is shown only in this
    response."""
    allow_private = runtime.settings.allow_private_urls
    if body.redirect_url:
        # Only checked: the browser follows it, unimeter never calls it.
        _check("redirect_url", body.redirect_url, allow_private=allow_private, resolve=False)
    base_url = None
    if body.base_url:
        base_url = _check("base_url", body.base_url, allow_private=allow_private, resolve=True)
    link = service.LinkTokenRequest(
        tenant_id=body.tenant_id,
        integration=body.integration,
        name=body.name,
        redirect_url=body.redirect_url.strip() if body.redirect_url else None,
        base_url=base_url,
        expires_in_days=body.expires_in_days,
    )
    try:
        created = await service.create_link_token(runtime, principal.environment_id, link)
    except UnknownIntegrationError as exc:
        raise ApiError(422, str(exc), details={"known_integrations": list(exc.known)}) from exc
    response.headers["Cache-Control"] = "no-store"
    url = f"{str(request.base_url).rstrip('/')}/connect/{created.plaintext}"
    return LinkTokenOut.of(created.token, created.plaintext, url)


@router.get("/link-tokens", response_model=ListResponse[LinkTokenInfo], responses=COMMON_ERRORS)
async def list_link_tokens(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    tenant_id: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """Link tokens of the environment, newest first, with their status (never the token)."""
    filters = {"route": "link-tokens", "tenant_id": tenant_id}
    position = read_cursor(request, next_cursor, filters)
    async with runtime.db.reader() as session:
        rows = await repository.page_link_tokens(
            session, principal.environment_id, tenant_id, position, limit
        )
    page = slice_page(rows, limit, position, lambda t: [t.created_at, t.id])
    now = runtime.clock()
    return envelope(
        request, page, filters, lambda t: LinkTokenInfo.of(t, service.status_of(t, now))
    )


@router.delete("/link-tokens/{token_id}", response_model=LinkTokenInfo, responses=COMMON_ERRORS)
async def revoke_link_token(
    token_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> LinkTokenInfo:
    """Revoke a link that was not used yet: its page then says the link has expired."""
    token = await service.revoke(runtime, principal.environment_id, token_id[:64])
    if token is None:
        raise not_found("link token")
    return LinkTokenInfo.of(token, service.status_of(token, runtime.clock()))


def _check(field: str, url: str, *, allow_private: bool, resolve: bool) -> str:
    try:
        return check_url(url, allow_private=allow_private, resolve=resolve)
    except URLRefusedError as exc:
        raise ApiError(400, f"{field}: {exc}") from exc


@router.get("/connect.js", include_in_schema=False)
async def connect_js() -> Response:
    return Response(
        _script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@cache
def _script() -> bytes:
    return (STATIC / "connect.js").read_bytes()


@router.get("/connect/{link_token}", include_in_schema=False)
async def connect_page(
    link_token: str, request: Request, runtime: RuntimeDep, origin: str | None = None
) -> Response:
    """The form. ``origin`` is the page that opened this one (connect.js passes it), the
    only origin the success message is posted to."""
    try:
        token = await service.open_link(runtime, link_token)
    except service.LinkProblemError as exc:
        return pages.problem(request, pages.copy_of(exc.problem))
    form = _form(request, runtime, token, origin)
    return pages.render(request, "connect.html", 200, **form)


@router.post("/connect/{link_token}", include_in_schema=False)
async def submit_key(link_token: str, request: Request, runtime: RuntimeDep) -> Response:
    if not same_origin(request):
        return pages.problem(request, pages.FOREIGN_ORIGIN)
    fields = await _fields(request)
    try:
        token = await service.open_link(runtime, link_token)
    except service.LinkProblemError as exc:
        return pages.problem(request, pages.copy_of(exc.problem))
    connector = runtime.registry.get(token.integration)
    form = _form(request, runtime, token, _text(fields, "origin"))
    try:
        _limiter(request).check(f"link:{token.id}", ATTEMPTS)
    except ApiError:
        return pages.problem(request, pages.TOO_MANY_ATTEMPTS, **form)
    credentials = {f.name: _text(fields, f.name).strip() for f in connector.credential_fields}
    if not all(credentials.values()):
        return pages.problem(request, pages.missing(connector), **form)
    if any(len(credentials[f.name]) > f.max_length for f in connector.credential_fields):
        return pages.problem(request, pages.too_long(connector), **form)
    try:
        account_id = await _link(request, runtime, token, link_token, credentials)
    except service.LinkProblemError as exc:
        return pages.problem(request, pages.copy_of(exc.problem, connector), **form)
    return _done(request, runtime, token, account_id, form["opener_origin"])


async def _link(
    request: Request,
    runtime: Runtime,
    token: LinkToken,
    plaintext: str,
    credentials: dict[str, str],
) -> str:
    account = await service.complete_link(runtime, token, plaintext, credentials)
    if request.app.state.auto_sync:
        dispatch: SyncDispatch = request.app.state.sync_dispatch
        await dispatch.request(account.id, trigger="initial")
    return account.id


def _done(
    request: Request,
    runtime: Runtime,
    token: LinkToken,
    account_id: str,
    opener_origin: str | None,
) -> Response:
    # In a popup (connect.js) the opener gets the id by message; otherwise the browser goes
    # back to the platform when it asked for that.
    if opener_origin is None and token.redirect_url:
        target = _with_account(token.redirect_url, account_id)
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    return pages.render(
        request,
        "done.html",
        200,
        redirect_url=token.redirect_url,
        account_id=account_id,
        opener_origin=opener_origin,
        name=token.name,
        **pages.vendor_context(runtime.registry.get(token.integration)),
    )


def _with_account(url: str, account_id: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("integrated_account_id", account_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _form(
    request: Request, runtime: Runtime, token: LinkToken, origin: str | None
) -> dict[str, Any]:
    return {
        "action": request.url.path,
        "opener_origin": pages.origin_of(origin),
        "name": token.name,
        **pages.vendor_context(runtime.registry.get(token.integration)),
    }


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


async def _fields(request: Request) -> FormData:
    """The posted fields; a body that is not a form (a broken multipart) counts as empty, so
    the visitor sees "paste your key" rather than an API error."""
    try:
        return await request.form()
    except HTTPException:
        return FormData()


def _text(fields: FormData, name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""
