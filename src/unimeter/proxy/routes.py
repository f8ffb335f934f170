"""``/proxy/cursor/{path}``: Cursor's own API, 1-to-1."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from unimeter.accounts import service as accounts
from unimeter.api.deps import AccountDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError
from unimeter.api.query import passthrough_query
from unimeter.connectors.cursor.errors import CursorError

from .service import ProxyPathError, forward

router = APIRouter(tags=["proxy"], responses={**COMMON_ERRORS, 502: ERROR_SCHEMA})


async def proxy_cursor(
    path: str, request: Request, runtime: RuntimeDep, account: AccountDep
) -> Response:
    """Call Cursor's API as the linked account (credentials injected, rate budget applied)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "integrated_account_id"]
    try:
        accounts.ensure_usable(account)
    except accounts.NeedsReauthError as exc:
        raise ApiError(401, str(exc), remote=True) from exc
    try:
        proxied = await forward(
            runtime, account, request.method, path, params, await request.body(),
            request.headers.get("content-type"),
        )  # fmt: skip
    except ProxyPathError as exc:
        raise ApiError(400, str(exc)) from exc
    except (CursorError, ValueError) as exc:
        raise ApiError(502, f"Cursor could not be reached: {exc}", remote=True) from exc
    if proxied.status == 401:
        await accounts.credentials_rejected(
            runtime, account.id, "Cursor answered 401 to a proxied request"
        )
    return Response(content=proxied.body, status_code=proxied.status, headers=proxied.headers)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/proxy/cursor/{path:path}",
        proxy_cursor,
        methods=[_method],
        operation_id=f"proxy_cursor_{_method.lower()}",
        # The query string goes to the vendor as it is: any parameter is allowed.
        dependencies=[Depends(passthrough_query)],
        response_class=Response,
        responses={
            200: {"description": "Cursor's response: status, body and Retry-After unchanged"}
        },
    )
