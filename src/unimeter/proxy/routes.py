"""``/proxy/{integration}/{path}``: a vendor's own API, 1-to-1."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from unimeter.accounts import service as accounts
from unimeter.api.deps import AccountDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, ERROR_SCHEMA, ApiError, not_found
from unimeter.api.query import passthrough_query
from unimeter.connectors.errors import VendorUnavailableError

from .service import ProxyPathError, forward

router = APIRouter(tags=["proxy"], responses={**COMMON_ERRORS, 502: ERROR_SCHEMA})


async def proxy(
    integration: str, path: str, request: Request, runtime: RuntimeDep, account: AccountDep
) -> Response:
    """Call the vendor's API as the linked account (credentials injected, rate budget
    applied). ``integration`` is the account's own (``GET /integrations`` lists them)."""
    if integration != account.integration:
        # As if the account did not exist: it has nothing behind this vendor's API.
        raise not_found("integrated account")
    display = runtime.registry.get(integration).display_name
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
    except (VendorUnavailableError, ValueError) as exc:
        raise ApiError(502, f"{display} could not be reached: {exc}", remote=True) from exc
    if proxied.status == 401:
        await accounts.credentials_rejected(
            runtime, account.id, f"{display} answered 401 to a proxied request"
        )
    return Response(content=proxied.body, status_code=proxied.status, headers=proxied.headers)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    router.add_api_route(
        "/proxy/{integration}/{path:path}",
        proxy,
        methods=[_method],
        operation_id=f"proxy_{_method.lower()}",
        # The query string goes to the vendor as it is: any parameter is allowed.
        dependencies=[Depends(passthrough_query)],
        response_class=Response,
        responses={
            200: {"description": "The vendor's response: status, body and Retry-After unchanged"}
        },
    )
