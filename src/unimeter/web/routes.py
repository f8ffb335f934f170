"""HTTP routes of the dashboard (HTML only); the figures come from ``web/service.py``."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from unimeter.api.deps import RuntimeDep
from unimeter.api.origin import same_origin
from unimeter.auth.service import authenticate
from unimeter.runtime import Runtime
from unimeter.sync.scheduling.dispatch import SyncDispatch

from . import aicode, service
from .charts import Chart
from .pages import STATIC, TITLES, page
from .service import Context
from .session import (
    CsrfDep,
    CsrfRejectedError,
    SessionDep,
    SignInRequiredError,
    cookie_settings,
    csrf_token,
    issue,
    principal_of,
    session_value,
)

router = APIRouter(prefix="/app", include_in_schema=False)

Days = Annotated[int, Query(description="Range in days")]
AccountParam = Annotated[str | None, Query(alias="account", max_length=64)]
# One person's usage (the anomalies page links here): their email, as stored.
UserParam = Annotated[str | None, Query(alias="user", max_length=320)]


def _days(days: int) -> int:
    return days if days in service.RANGES else 30


async def _view(
    request: Request, runtime: RuntimeDep, principal: SessionDep, account: AccountParam = None
) -> Context:
    """What a page shows: the chosen account (or tenant) and day, in the token's environment."""
    text = request.query_params.get("as_of")
    product = (request.query_params.get("product") or "").strip()[:40] or None
    ctx = await service.context(runtime, principal, account, service.parse_day(text), product)
    error = service.day_error(text)
    return dataclasses.replace(ctx, notice=error) if error else ctx


ViewDep = Annotated[Context, Depends(_view)]


def _query(ctx: Context, days: int, user: str | None = None) -> str:
    return f"{ctx.query}&{urlencode({'days': days, **({'user': user} if user else {})})}"


def _render(
    request: Request, path: str, ctx: Context, days: int | None, user: str | None = None,
    **data: Any,
) -> Response:  # fmt: skip
    """The page at ``path`` (a NAV entry): its template, title and highlighted tab."""
    session = session_value(request) or ""
    template = (path.removeprefix("/app").strip("/") or "overview") + ".html"
    data.setdefault("flash", ctx.notice)
    return page(
        request, template, ctx=ctx, days=days, query=_query(ctx, days or 30, user), user=user,
        csrf=csrf_token(request.app.state.runtime, session), title=TITLES[path], active=path,
        **data,
    )  # fmt: skip


# --- sign-in ------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, runtime: RuntimeDep) -> Response:
    if await principal_of(runtime, request) is not None:
        return RedirectResponse("/app", status_code=303)
    return page(request, "login.html", title="Sign in")


@router.post("/login")
async def login(
    request: Request, runtime: RuntimeDep, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    if not same_origin(request):
        raise CsrfRejectedError  # another site must not sign a visitor in to its environment
    principal = await authenticate(runtime, token.strip()) if token.strip() else None
    if principal is None:
        return page(
            request, "login.html", status_code=401, title="Sign in",
            error="That token is not valid (or was revoked). Create one with `unimeter tokens create`.",
        )  # fmt: skip
    response = RedirectResponse("/app", status_code=303)
    # The token's id, signed and expiring: the cookie itself is never an API key.
    session = issue(runtime, principal.token_id)
    response.set_cookie(value=session, **cookie_settings(request, runtime))  # type: ignore[arg-type]
    return response


@router.post("/logout", dependencies=[CsrfDep])
async def logout(request: Request, runtime: RuntimeDep) -> Response:
    response = RedirectResponse("/app/login", status_code=303)
    settings = cookie_settings(request, runtime)
    response.delete_cookie(
        str(settings["key"]), path=str(settings["path"]), httponly=True, samesite="strict"
    )
    return response


# --- pages -------------------------------------------------------------------------------


@router.get("")
async def overview(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    days = 30
    # Independent reads, each in its own session: run together, they share the cores.
    seats, daily, before, charts, anomalies, tools = await asyncio.gather(
        service.seats(runtime, ctx),
        service.consumption(runtime, ctx, service.window(ctx, days)),
        service.consumption(runtime, ctx, service.window(ctx, days, back=1)),
        _charts(runtime, ctx, days, "top-users"),
        service.anomaly_list(runtime, ctx, "open"),
        service.tools(runtime, ctx, days),
    )
    charts.update(_daily_charts(daily))
    charts["seat-status"] = service.seats_chart(seats)
    open_anomalies = len(anomalies)
    return _render(
        request, "/app", ctx, days, seats=seats,
        spend=daily["totals"], previous=before["totals"], charts=charts,
        open_anomalies=open_anomalies, tools=tools,
    )  # fmt: skip


@router.get("/seats")
async def seats_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    return await _seats(request, runtime, ctx)


async def _seats(
    request: Request, runtime: Runtime, ctx: Context, error: str | None = None
) -> Response:
    seats = await service.seats(runtime, ctx)
    charts = {"seat-status": service.seats_chart(seats)}
    return _render(
        request, "/app/seats", ctx, None, seats=seats,
        charts=charts, price=await service.seat_price(runtime, ctx), error=error,
        status_code=400 if error else 200,
    )  # fmt: skip


@router.post("/seats/price", dependencies=[CsrfDep])
async def set_seat_price(
    request: Request,
    runtime: RuntimeDep,
    ctx: ViewDep,
    seat_price: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The monthly price of a seat (vendors do not expose it), for reclaimable spend."""
    try:
        await service.set_seat_price(runtime, ctx, seat_price.strip().lstrip("$"))
    except ValueError as exc:
        return await _seats(request, runtime, ctx, error=f"Seat price: {exc}")
    query = urlencode({"account": ctx.account.id})
    return RedirectResponse(f"/app/seats?{query}", status_code=303)


async def _no_notes() -> list[dict[str, Any]]:
    return []  # one person's page has no team chart to explain


@router.get("/consumption")
async def consumption_page(
    request: Request,
    runtime: RuntimeDep,
    ctx: ViewDep,
    days: Days = 30,
    user: UserParam = None,
) -> Response:
    days, user = _days(days), (user or "").strip() or None
    # One person's usage has no team breakdown worth a chart.
    ids = ("model-spend",) if user else ("model-spend", "team-spend")
    users, daily, charts, team_notes = await asyncio.gather(
        service.consumption(
            runtime, ctx, service.window(ctx, days), by=("user",), top=service.TOP_USERS,
            user=user,
        ),
        _daily(runtime, ctx, days, user),
        _charts(runtime, ctx, days, *ids, user=user),
        service.team_notes(runtime, ctx) if not user else _no_notes(),
    )  # fmt: skip
    charts.update(_daily_charts(daily))
    return _render(
        request, "/app/consumption", ctx, days, user,
        users=users, charts=charts, ranges=service.RANGES,
        team_notes=team_notes,
    )  # fmt: skip


@router.get("/adoption")
async def adoption_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    body = await service.adoption_scorecards(runtime, ctx)
    charts = {"team-activity": service.adoption_chart(body)}
    return _render(
        request, "/app/adoption", ctx, None,
        body=body, charts=charts, labels=service.adoption_labels(body),
    )  # fmt: skip


@router.get("/ai-code")
async def ai_code_page(
    request: Request, runtime: RuntimeDep, ctx: ViewDep, days: Days = 30
) -> Response:
    days = _days(days)
    body = await aicode.page(runtime, ctx, days)
    charts = {
        "ai-share": aicode.share_chart(body["weekly"]),
        "ai-share-team": aicode.team_share_chart(body["teams"]),
        "cost-per-ai-line": aicode.cost_chart(body["teams"]),
    }
    return _render(
        request, "/app/ai-code", ctx, days, body=body, charts=charts, ranges=service.RANGES
    )


@router.get("/audit")
async def audit_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    body = await service.audit_findings(runtime, ctx)
    charts = {"audit-findings": service.audit_chart(body)}
    return _render(
        request, "/app/audit", ctx, None, body=body,
        charts=charts,
    )  # fmt: skip


@router.get("/anomalies")
async def anomalies_page(
    request: Request,
    runtime: RuntimeDep,
    ctx: ViewDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    status = status if status in service.ANOMALY_STATUSES else None
    rows = await service.anomaly_list(runtime, ctx, status)
    return _render(
        request, "/app/anomalies", ctx, None,
        rows=[(a, service.anomaly_view(a)) for a in rows], status=status,
        statuses=service.ANOMALY_STATUSES,
    )  # fmt: skip


@router.post("/anomalies/{anomaly_id}", dependencies=[CsrfDep])
async def update_anomaly(
    anomaly_id: str,
    runtime: RuntimeDep,
    principal: SessionDep,
    status: Annotated[str, Form(max_length=20)],
    account: AccountParam = None,
) -> Response:
    if status in service.ANOMALY_STATUSES:
        await service.set_anomaly_status(runtime, principal, anomaly_id[:64], status)
    query = urlencode({"account": account} if account else {})
    return RedirectResponse(f"/app/anomalies?{query}#{anomaly_id[:64]}", status_code=303)


@router.get("/accounts")
async def accounts_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    rows = await service.accounts_with_runs(runtime, ctx)
    return _render(request, "/app/accounts", ctx, None, rows=rows)


@router.post("/accounts/{account_id}/sync", dependencies=[CsrfDep])
async def sync_now(
    account_id: str, request: Request, runtime: RuntimeDep, principal: SessionDep
) -> Response:
    """Start a sync (or join the one already queued or running), as the API's POST does."""
    ctx = await service.context(runtime, principal, account_id[:64])
    if ctx.account.status == "active":
        dispatch: SyncDispatch = request.app.state.sync_dispatch
        await dispatch.request(ctx.account.id, trigger="dashboard")
    query = urlencode({"account": ctx.account.id})
    return RedirectResponse(f"/app/accounts?{query}#{ctx.account.id}", status_code=303)


@router.get("/webhooks")
async def webhooks_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    rows = await service.webhooks(runtime, ctx.principal)
    return _render(request, "/app/webhooks", ctx, None, rows=rows)


@router.get("/notifications")
async def notifications_page(request: Request, runtime: RuntimeDep, ctx: ViewDep) -> Response:
    rows = await service.notification_channels(runtime, ctx.principal)
    return _render(request, "/app/notifications", ctx, None, rows=rows)


# --- charts as CSV, static files --------------------------------------------------------------

# Builders take the view, the range in days and (for the consumption charts) one person.
ChartBuilder = Callable[[Runtime, Context, int, str | None], Awaitable[Chart]]


async def _daily(runtime: Runtime, ctx: Context, days: int, user: str | None) -> dict[str, Any]:
    return await service.consumption(runtime, ctx, service.window(ctx, days), user=user)


async def _by(
    runtime: Runtime, ctx: Context, days: int, dim: str, top: int | None, user: str | None
) -> dict[str, Any]:
    span = service.window(ctx, days)
    return await service.consumption(runtime, ctx, span, by=(dim,), top=top, user=user)


CHARTS: dict[str, ChartBuilder] = {
    "daily-spend": lambda r, c, d, u: _chart(service.daily_spend_chart, _daily(r, c, d, u)),
    "daily-tokens": lambda r, c, d, u: _chart(service.daily_tokens_chart, _daily(r, c, d, u)),
    "top-users": lambda r, c, d, u: _chart(
        lambda b: service.ranked_chart("top-users", "Top users by spend", b, "user_email"),
        _by(r, c, d, "user", 5, u),
    ),
    "model-spend": lambda r, c, d, u: _chart(
        lambda b: service.ranked_chart("model-spend", "Spend by model", b, "model"),
        # Every model: a team uses a handful, and without a ranking it is one read, not four.
        _by(r, c, d, "model", None, u),
    ),
    "team-spend": lambda r, c, d, u: _chart(service.team_chart, service.team_spend(r, c, d)),
    "seat-status": lambda r, c, d, u: _chart(service.seats_chart, service.seats(r, c)),
    "team-activity": lambda r, c, d, u: _chart(
        service.adoption_chart, service.adoption_scorecards(r, c)
    ),
    "audit-findings": lambda r, c, d, u: _chart(service.audit_chart, service.audit_findings(r, c)),
    "ai-share": lambda r, c, d, u: _chart(aicode.share_chart, aicode.weekly(r, c, d)),
    "ai-share-team": lambda r, c, d, u: _chart(aicode.team_share_chart, aicode.teams(r, c, d)),
    "cost-per-ai-line": lambda r, c, d, u: _chart(aicode.cost_chart, aicode.teams(r, c, d)),
}


async def _chart(
    build: Callable[[dict[str, Any]], Chart], body: Awaitable[dict[str, Any]]
) -> Chart:
    return build(await body)


def _daily_charts(daily: dict[str, Any]) -> dict[str, Chart]:
    """Both per-day charts from one read of the daily figures."""
    return {
        "daily-spend": service.daily_spend_chart(daily),
        "daily-tokens": service.daily_tokens_chart(daily),
    }


async def _charts(
    runtime: Runtime, ctx: Context, days: int, *ids: str, user: str | None = None
) -> dict[str, Chart]:
    built = await asyncio.gather(*(CHARTS[chart_id](runtime, ctx, days, user) for chart_id in ids))
    return dict(zip(ids, built, strict=True))


@router.get("/charts/{chart_id}.csv")
async def chart_csv(
    chart_id: str,
    request: Request,
    runtime: RuntimeDep,
    ctx: ViewDep,
    days: Days = 30,
    user: UserParam = None,
) -> Response:
    build = CHARTS.get(chart_id)
    if build is None:
        return Response("no such chart\n", status_code=404, media_type="text/plain")
    chart = await build(runtime, ctx, _days(days), (user or "").strip() or None)
    name = f"{chart_id}-{ctx.tenant or ctx.account.id}.csv"
    return Response(
        chart.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/static/{name}")
async def static(name: str) -> Response:
    found = STATIC.get(name)
    if found is None:
        return Response("not found\n", status_code=404, media_type="text/plain")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=300"})


# --- errors ------------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Dashboard errors are pages, not JSON: sign-in redirects, CSRF and missing accounts."""

    async def sign_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/app/login", status_code=303)

    async def csrf(request: Request, exc: Exception) -> Response:
        return page(
            request, "message.html", status_code=403, title="Refused",
            heading="This form has expired",
            message="The request did not come from this dashboard. Reload the page and try again.",
            link=("/app", "Back to the dashboard"),
        )  # fmt: skip

    async def no_account(request: Request, exc: Exception) -> Response:
        return page(
            request, "message.html", status_code=404, title="No workspace", heading="No workspace",
            message=f"{exc}. Link a workspace with POST /integrated-accounts, "
            "`unimeter accounts link`, or a Connect link (POST /link-tokens).",
        )  # fmt: skip

    app.add_exception_handler(SignInRequiredError, sign_in)
    app.add_exception_handler(CsrfRejectedError, csrf)
    app.add_exception_handler(service.NoAccountError, no_account)
