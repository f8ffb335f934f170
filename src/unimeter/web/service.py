"""What each dashboard page shows, computed by the same analytics code as the API.

Every figure comes from the functions behind ``/analytics/...`` and is shaped by the same
``render`` functions, so a number on a page is the number the API returns for the same
account and range. Charts are built from those rendered rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from unimeter.accounts import service as accounts_service
from unimeter.accounts.schemas import AccountOut
from unimeter.analytics import adoption, anomalies, audit, render, vendors
from unimeter.analytics import chargeback as charges
from unimeter.analytics import people as persons
from unimeter.analytics import service as analytics
from unimeter.analytics import settings as account_settings
from unimeter.analytics.consumption_repository import ConsumptionQuery
from unimeter.auth.service import Principal
from unimeter.db.models import IntegratedAccount
from unimeter.kit.money import dollars, parse_dollars
from unimeter.kit.times import DAY_BOUNDS, check_day
from unimeter.notifications import repository as notifications_repo
from unimeter.notifications.schemas import ChannelOut, NotificationOut
from unimeter.runtime import Runtime
from unimeter.sync.schemas import SyncRunOut
from unimeter.sync.store import state_repository
from unimeter.tenancy import repository as tenancy
from unimeter.webhooks import repository as webhooks_repo
from unimeter.webhooks.schemas import DeliveryOut, WebhookOut

from .charts import Chart, Series, fmt

RANGES = (7, 30, 90)
TOP_USERS = 20
ANOMALY_STATUSES = ("open", "acknowledged", "resolved")


class NoAccountError(LookupError):
    """The environment has no integrated account yet (or not the one asked for)."""


TENANT_PREFIX = "tenant:"


@dataclass(frozen=True, slots=True)
class Context:
    principal: Principal
    accounts: list[IntegratedAccount]
    # The account shown, or the first of the tenant when the view covers a whole tenant.
    account: IntegratedAccount
    scope: analytics.Scope
    # The last day the pages cover: today, or an earlier day the viewer chose.
    today: dt.date
    as_of: dt.date | None = None
    # Why the day shown is not the one asked for (a malformed or future date), if it is not.
    notice: str | None = None
    # The tool the pages are narrowed to (``?product=``), and the tools of the view's
    # accounts, ``(id, name)``, to choose from.
    product: str | None = None
    tools: tuple[tuple[str, str], ...] = ()

    @property
    def tenant(self) -> str | None:
        return self.scope.tenant_id

    @property
    def selection(self) -> str:
        """What the workspace picker holds: an account id, or ``tenant:<tenant_id>``."""
        return f"{TENANT_PREFIX}{self.tenant}" if self.tenant else self.account.id

    @property
    def tenants(self) -> list[str]:
        """Tenants with several accounts: each can be viewed as a whole."""
        counts = Counter(a.tenant_id for a in self.accounts if a.tenant_id)
        return sorted(t for t, n in counts.items() if n > 1)

    @property
    def query(self) -> str:
        """The query string that keeps this view (account or tenant, and day) across pages."""
        params = {"account": self.selection}
        if self.as_of is not None:
            params["as_of"] = self.as_of.isoformat()
        if self.product is not None:
            params["product"] = self.product
        return urlencode(params)


def parse_day(text: str | None) -> dt.date | None:
    """A ``YYYY-MM-DD`` from a link or the date picker, within the input bounds of
    kit/times.py; anything else means "today"."""
    try:
        day = check_day(dt.date.fromisoformat(text)) if text and len(text) == 10 else None
    except ValueError:  # OutOfRangeError included
        return None
    # fromisoformat also takes 20260412; the picker and our links say 2026-04-12.
    return day if day is not None and day.isoformat() == text else None


def day_error(text: str | None) -> str | None:
    """The message for a date that is not ``YYYY-MM-DD`` (the picker takes typed text)."""
    if not text or parse_day(text) is not None:
        return None
    try:
        outside = dt.date.fromisoformat(text).isoformat() == text
    except ValueError:
        outside = False
    if outside:  # a real day, but before or after anything the store can hold
        return f"{text} is after today or outside {DAY_BOUNDS} (UTC): showing today."
    return f"{text[:30]!r} is not a date: write it as YYYY-MM-DD (UTC). Showing today."


async def context(
    runtime: Runtime,
    principal: Principal,
    selection: str | None,
    as_of: dt.date | None = None,
    product: str | None = None,
) -> Context:
    """The view asked for: an account id, ``tenant:<tenant_id>``, or (nothing) the first
    account of the environment; narrowed to one tool when ``product`` names one of its
    accounts' products."""
    async with runtime.db.reader() as session:
        accounts = list(await tenancy.list_accounts(session, principal.environment_id))
    if not accounts:
        raise NoAccountError("no integrated account is linked in this environment yet")
    tenant = selection[len(TENANT_PREFIX) :] if selection and selection.startswith(
        TENANT_PREFIX
    ) else None  # fmt: skip
    if tenant is not None:
        members = [a for a in accounts if a.tenant_id == tenant]
    else:
        members = [a for a in accounts if a.id == selection] if selection else accounts[:1]
    if not members:
        raise NoAccountError("no such integrated account or tenant in this environment")
    scope = await analytics.resolve_scope(
        runtime, principal.environment_id,
        integrated_account_id=None if tenant else members[0].id, tenant_id=tenant,
    )  # fmt: skip
    today = analytics.today(runtime)
    notice = None
    if as_of is not None and as_of > today:
        notice = f"{as_of} is after today (UTC): showing today."
    if as_of is not None and as_of >= today:
        as_of = None  # the future holds no usage: show today
    tools = _tools(runtime, scope)
    if product and product not in dict(tools):
        notice, product = f"{product[:40]!r} is not a tool of this workspace: showing all.", None
    if product:
        scope = dataclasses.replace(
            scope, accounts=tuple(a for a in scope.accounts if product in offered(runtime, a)),
            products=(product,),
        )  # fmt: skip
    return Context(
        principal, accounts, members[0], scope, as_of or today, as_of, notice, product or None,
        tools,
    )  # fmt: skip


def offered(runtime: Runtime, account: IntegratedAccount) -> tuple[str, ...]:
    return tuple(p.id for p in vendors.products(runtime, account.integration))


def _tools(runtime: Runtime, scope: analytics.Scope) -> tuple[tuple[str, str], ...]:
    """The products of the scope's accounts, each once, in the order the vendors list them."""
    found = {p.id: p.name for a in scope.accounts for p in vendors.products(runtime, a.integration)}
    return tuple(found.items())


def money(cost: dict[str, Any], kind: str = "charged") -> Decimal:
    # A charge type the vendor does not report (None) draws as nothing.
    return Decimal(cost[kind] or 0)


# --- overview and seats --------------------------------------------------------------------


async def seats(runtime: Runtime, ctx: Context) -> dict[str, Any]:
    report = await analytics.seats(runtime, ctx.scope, ctx.today, idle_days=30)
    return render.seats(report)


async def seat_price(runtime: Runtime, ctx: Context) -> str | None:
    price = (await account_settings.get(runtime, ctx.account.id)).seat_price_cents_e6
    return dollars(price) if price is not None else None


async def set_seat_price(runtime: Runtime, ctx: Context, text: str) -> None:
    """``""`` clears the price; otherwise ValueError for anything but a dollar amount."""
    if ctx.tenant is not None:
        raise ValueError("a seat price belongs to one workspace: choose it first")
    price = parse_dollars(text) if text.strip() else None
    await account_settings.update(runtime, ctx.account.id, {"seat_price_cents_e6": price})


async def tools(runtime: Runtime, ctx: Context, days: int) -> dict[str, Any] | None:
    """The tools side by side (seats, active people, cost, people holding several), from
    the people analysis over the last ``days``; None when the view holds one tool."""
    if len(ctx.tools) < 2 or ctx.product is not None:
        return None
    start, end = window(ctx, days)
    report = await persons.people(
        runtime, ctx.scope, start=start, end=end, as_of=ctx.today, sort="email"
    )
    return persons.summary(report)


def seats_chart(body: dict[str, Any]) -> Chart:
    active = body["active_30d"]
    idle, never = len(body["idle"]), len(body["never_used"])
    labels = ["active in 30 days", "idle 30+ days", "never used"]
    return Chart(
        "seat-status", "Seats by status", labels, [Series("seats", [active, idle, never])],
        kind="bars", label_header="status",
    )  # fmt: skip


def window(ctx: Context, days: int, back: int = 0) -> tuple[dt.date, dt.date]:
    """The last ``days`` days up to today (end exclusive), ``back`` windows earlier."""
    end = ctx.today + dt.timedelta(days=1 - back * days)
    return end - dt.timedelta(days=days), end


async def consumption(
    runtime: Runtime,
    ctx: Context,
    span: tuple[dt.date, dt.date],
    *,
    by: tuple[str, ...] = (),
    top: int | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """The same body as ``GET /analytics/consumption`` for the account and range (and one
    person's email, when given): per day when not grouped, over the whole range when grouped
    by user or model."""
    start, end = span
    granularity = "total" if by else "day"
    q = ConsumptionQuery(
        account_ids=ctx.scope.account_ids, start=start, end=end, by_user="user" in by,
        by_model="model" in by, granularity=granularity, emails=(user,) if user else None,
        products=ctx.scope.products,
    )  # fmt: skip
    page = await analytics.consumption_all(runtime, q, top=top)
    return render.consumption(page, granularity=granularity, start=start, end=end, dims=by)


def daily_spend_chart(body: dict[str, Any]) -> Chart:
    rows = body["result"]
    return Chart(
        "daily-spend", "Spend per day", [r["period_start"] for r in rows],
        [Series("included", [money(r["cost"], "included") for r in rows]),
         Series("usage-based", [money(r["cost"], "usage_based") for r in rows])],
        unit="$", label_header="day",
    )  # fmt: skip


def daily_tokens_chart(body: dict[str, Any]) -> Chart:
    rows = body["result"]
    kinds = ("input", "output", "cache_read", "cache_write")
    return Chart(
        "daily-tokens", "Tokens per day", [r["period_start"] for r in rows],
        [Series(k.replace("_", " "), [r["tokens"][k] for r in rows]) for k in kinds],
        label_header="day",
    )  # fmt: skip


def ranked_chart(chart_id: str, title: str, body: dict[str, Any], field: str) -> Chart:
    rows = sorted(body["result"], key=lambda r: money(r["cost"]), reverse=True)
    return Chart(
        chart_id, title, [r[field] or "(unknown)" for r in rows],
        [Series("charged", [money(r["cost"]) for r in rows])],
        unit="$", kind="bars", label_header=field,
    )  # fmt: skip


async def team_spend(runtime: Runtime, ctx: Context, days: int) -> dict[str, Any]:
    start, end = window(ctx, days)
    report = await charges.chargeback(
        runtime, ctx.scope, start=start, end=end, by="team", granularity="total", source="auto"
    )
    return render.chargeback(report, granularity="total", start=start, end=end)


def team_chart(body: dict[str, Any]) -> Chart:
    rows = sorted(body["result"], key=lambda r: money(r["cost"]), reverse=True)
    labels = [r["team"] if not r["unallocated"] else "(unallocated)" for r in rows]
    return Chart(
        "team-spend", "Spend by team", labels,
        [Series("charged", [money(r["cost"]) for r in rows])],
        unit="$", kind="bars", label_header="team",
    )  # fmt: skip


# --- adoption, audit, anomalies ------------------------------------------------------------


async def adoption_scorecards(runtime: Runtime, ctx: Context) -> dict[str, Any]:
    """The API's default: the 30 days before today, against the 30 before those."""
    end = ctx.today
    return await adoption.adoption(
        runtime, ctx.scope, start=end - dt.timedelta(days=30), end=end, source="auto"
    )


def adoption_labels(body: dict[str, Any]) -> dict[str, Any]:
    """The scorecard's keys, in its vendors' words, as the answer itself names them, and
    the column titles made from them."""
    card = body["all"]
    key = next(k for k in card if k.endswith("_acceptance") and k != "edit_acceptance")
    return {
        "completion_acceptance": key,
        "completion_title": key.replace("_", " ").capitalize(),
        "features": list(card["feature_shares"]),
    }


def adoption_chart(body: dict[str, Any]) -> Chart:
    rows = body["result"]
    return Chart(
        "team-activity", "Active users per team (30 days)", [r["team"] or "(no team)" for r in rows],
        [Series("MAU", [r["mau"] for r in rows]),
         Series("inactive members", [max(r["members"] - r["mau"], 0) for r in rows])],
        kind="bars", label_header="team",
    )  # fmt: skip


async def audit_findings(runtime: Runtime, ctx: Context) -> dict[str, Any]:
    findings = await audit.audit(runtime, ctx.scope, ctx.today)
    return render.audit(findings, ctx.today)


async def team_notes(runtime: Runtime, ctx: Context) -> list[dict[str, Any]]:
    """Why people have no team, where an account has no team mapping to offer."""
    _maps, notes = await charges.team_maps_noted(runtime, ctx.scope, "auto")
    return [n.as_dict() for n in notes]


def audit_chart(body: dict[str, Any]) -> Chart:
    # Kinds that could not be checked have no count to draw.
    counts = {k: v for k, v in body["counts"].items() if v is not None}
    return Chart(
        "audit-findings", "Findings by type", [k.replace("_", " ") for k in counts],
        [Series("findings", list(counts.values()))], kind="bars", label_header="finding",
    )  # fmt: skip


ANOMALY_KINDS = {
    "cost_spike": "Spend spike",
    "token_spike": "Token spike",
    "headless_spike": "Headless spend spike",
    "expensive_model": "Costlier new model",
    "agent_failures": "Failing agent runs",
    "agent_runaway": "Runaway agent run",
}
METRIC_NOUNS = {
    "cost": "spend",
    "headless_cost": "headless spend",
    "tokens": "tokens",
    "cost_per_event": "cost per request",
    "failed_runs": "failed agent runs",
    "run_cost": "run cost",
    "run_tokens": "run tokens",
}


async def anomaly_list(runtime: Runtime, ctx: Context, status: str | None) -> list[dict[str, Any]]:
    page = await anomalies.page(
        runtime, ctx.scope.account_ids, status=status, kind=None, position=None, limit=200
    )
    return [anomalies.render(a) for a in page.items]


def times(multiple: float | None) -> str:
    """``12\u00d7 the usual`` (times): whole numbers from 10, one decimal below."""
    if multiple is None:
        return "new (usually none)"
    shown = f"{multiple:,.0f}" if multiple >= 10 else f"{multiple:.1f}".removesuffix(".0")
    return f"{shown}\u00d7 the usual"


def signed_dollars(amount: str) -> str:
    value = Decimal(amount)
    return ("-" if value < 0 else "+") + fmt(abs(value), "$")


def anomaly_view(a: dict[str, Any]) -> dict[str, Any]:
    """What the anomalies page says about one anomaly, in words and dollars."""
    d = a["details"]
    link = urlencode({"account": a["integrated_account_id"], "as_of": a["day"], "days": 7,
                      "user": a["user_email"]})  # fmt: skip
    return {
        "kind": ANOMALY_KINDS.get(a["kind"], a["kind"].replace("_", " ")),
        "multiple": f"{times(d['multiple'])} {METRIC_NOUNS.get(d['metric'], '')}".strip(),
        "impact": signed_dollars(d["excess_cost"]) if d["excess_cost"] is not None else None,
        "usual": fmt(d["usual_cost"], "$") if d["usual_cost"] is not None else None,
        "cost": fmt(d["cost"], "$") if d["cost"] is not None else None,
        "tokens": (fmt(d["tokens"]), fmt(d["usual_tokens"] or 0)) if d["tokens"] else None,
        "usage": f"/app/consumption?{link}",
    }


async def set_anomaly_status(
    runtime: Runtime, principal: Principal, anomaly_id: str, status: str
) -> bool:
    found = await anomalies.set_status(runtime, principal.environment_id, anomaly_id, status)
    return found is not None


# --- accounts and webhooks ------------------------------------------------------------------


async def accounts_with_runs(runtime: Runtime, ctx: Context, runs: int = 10) -> list[Any]:
    out: list[tuple[IntegratedAccount, list[SyncRunOut]]] = []
    async with runtime.db.reader() as session:
        for account in ctx.accounts:
            history = await state_repository.list_runs(
                session, ctx.principal.environment_id, account.id, None, runs
            )
            out.append((account, [SyncRunOut.of(r) for r in history]))
    capabilities = await accounts_service.capabilities(runtime, [a for a, _ in out])
    return [(AccountOut.of(a, capabilities[a.id]), runs) for a, runs in out]


async def webhooks(
    runtime: Runtime, principal: Principal, recent: int = 10
) -> list[tuple[WebhookOut, list[DeliveryOut]]]:
    """Each webhook with its latest deliveries, so a failing endpoint shows at a glance."""
    out = []
    async with runtime.db.reader() as session:
        rows = await webhooks_repo.page_webhooks(session, principal.environment_id, None, 200)
        for webhook in rows:
            sent = await webhooks_repo.page_deliveries(session, webhook.id, None, None, recent)
            out.append((WebhookOut.of(webhook), [DeliveryOut.of(d, []) for d in sent]))
    return out


async def notification_channels(
    runtime: Runtime, principal: Principal, recent: int = 10
) -> list[tuple[ChannelOut, list[NotificationOut]]]:
    """Each notification channel (secret as a hint only) with its latest messages."""
    out = []
    async with runtime.db.reader() as session:
        rows = await notifications_repo.page_channels(session, principal.environment_id, None, 200)
        for channel in rows:
            sent = await notifications_repo.page_deliveries(session, channel.id, None, recent)
            out.append((ChannelOut.of(channel), [NotificationOut.of(d) for d in sent]))
    return out
