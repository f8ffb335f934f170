"""The MCP tools: thin adapters over the analytics services, one per question.

Each tool calls the functions the matching ``/analytics/...`` route calls, with the route's
defaults, and shapes the answer with the same ``render`` code, so a tool's numbers are the
API's numbers for the same arguments. Parameters keep the API's names. Every tool reads;
none changes anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from mcp.server.fastmcp import Context
from mcp.server.fastmcp.exceptions import ToolError
from pydantic import Field

from unimeter.accounts import service as accounts
from unimeter.accounts.schemas import AccountOut, AccountStatus
from unimeter.analytics import adoption as adoption_scores
from unimeter.analytics import agents as agent_runs
from unimeter.analytics import aicode, anomalies, render, service
from unimeter.analytics import audit as audits
from unimeter.analytics import chargeback as charges
from unimeter.analytics import people as persons
from unimeter.analytics.chargeback import ChargeBy, SourceChoice
from unimeter.analytics.schemas import (
    AnomalyKind,
    AnomalyStatus,
    ConsumptionDimension,
    Granularity,
)
from unimeter.api.params import Day

from .auth import Caller, caller_of_request
from .schemas import (
    AccountsAnswer,
    AdoptionAnswer,
    AgentsAnswer,
    AiCodeAnswer,
    AnomaliesAnswer,
    AuditAnswer,
    ChargebackAnswer,
    ConsumptionAnswer,
    PeopleAnswer,
    ReconciliationAnswer,
    SeatsAnswer,
)

Ctx = Context[Any, Any, Any]
AccountId = Annotated[
    str | None,
    Field(description="One integrated account (give this or tenant_id)", max_length=64),
]
TenantId = Annotated[
    str | None,
    Field(description="Every account of this tenant_id (or give integrated_account_id)",
          min_length=1, max_length=255),
]  # fmt: skip
Products = Annotated[
    list[str] | None,
    Field(description="Only these products (tools), e.g. cursor or claude_code; default all"),
]
Start = Annotated[Day | None, Field(description="First day, inclusive (UTC, YYYY-MM-DD)")]
End = Annotated[Day | None, Field(description="Last day, exclusive (UTC); default tomorrow")]
Source = Annotated[
    SourceChoice,
    Field(description="Team map: the uploaded directory, the vendor's billing groups, or auto "
          "(the directory if any)"),
]  # fmt: skip
Limit = Annotated[int, Field(ge=1, le=10000, description="Rows returned at most")]


def caller(ctx: Ctx) -> Caller:
    """The token's caller: on the HTTP request (``/mcp``), else the one the process was
    started with (``unimeter mcp``)."""
    found = caller_of_request(ctx.request_context.request)
    if found is None and isinstance(ctx.request_context.lifespan_context, Caller):
        found = ctx.request_context.lifespan_context
    if found is None:
        raise ToolError("not authenticated: send an API token")
    return found


async def _scope(
    who: Caller, account: str | None, tenant: str | None, products: list[str] | None = None
) -> service.Scope:
    """As the API resolves it; an account of another environment is "not found" here too."""
    try:
        return await service.resolve_scope(
            who.runtime, who.principal.environment_id, integrated_account_id=account,
            tenant_id=tenant, products=products,
        )  # fmt: skip
    except (service.ScopeError, service.ScopeNotFoundError) as exc:
        raise ToolError(str(exc)) from exc


def _range(
    who: Caller, start: dt.date | None, end: dt.date | None, default_days: int
) -> tuple[dt.date, dt.date]:
    try:
        return service.date_range(who.runtime, start, end, default_days)
    except service.RangeError as exc:
        raise ToolError(str(exc)) from exc


async def list_accounts(
    ctx: Ctx,
    tenant_id: Annotated[
        str | None, Field(description="Only this tenant's", max_length=255)
    ] = None,
    status: Annotated[
        AccountStatus | None, Field(description="Only accounts in this state")
    ] = None,
) -> AccountsAnswer:
    """The integrated accounts (one vendor workspace each) and their sync status: status
    (active; needs_reauth when the vendor refused the stored key), last_synced_at,
    last_error, next_sync_at, and per stream whether the vendor's plan offers it. Use an
    account's id as integrated_account_id in the other tools."""
    who = caller(ctx)
    found = await accounts.list_accounts(who.runtime, who.principal.environment_name)
    chosen = [a for a in found if tenant_id in (None, a.tenant_id) and status in (None, a.status)]
    capabilities = await accounts.capabilities(who.runtime, chosen)
    return AccountsAnswer(result=[AccountOut.of(a, capabilities[a.id]) for a in chosen])


async def seats(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    as_of: Annotated[
        Day | None, Field(description="Last day of the windows; default today")
    ] = None,
    idle_days: Annotated[int, Field(ge=1, le=365, description="Idle after this many days")] = 30,
) -> SeatsAnswer:
    """Seat utilization and reclaimable seats. provisioned: members holding a seat on as_of;
    active_7d / active_30d: of them, active in the 7 / 30 days ending on as_of; utilization:
    active / provisioned in percent. idle: seats used before but not in the last idle_days;
    never_used: no activity in the whole synced history. reclaimable: idle + never-used
    seats, and their monthly price in USD (a decimal string) when the account has a seat
    price set (vendors do not report it)."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    day = as_of or service.today(who.runtime)
    report = await service.seats(who.runtime, scope, day, idle_days)
    return SeatsAnswer.model_validate(render.seats(report))


async def consumption(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: End = None,
    group_by: Annotated[
        list[ConsumptionDimension] | None,
        Field(description="user (person), model and/or product (tool); default user and model"),
    ] = None,
    granularity: Annotated[Granularity, Field(description="Period of each row")] = "day",
    emails: Annotated[list[str] | None, Field(description="Only these people")] = None,
    model_ids: Annotated[list[str] | None, Field(description="Only these models")] = None,
    top: Annotated[int | None, Field(ge=1, le=1000, description="Only the N costliest")] = None,
    limit: Limit = 1000,
) -> ConsumptionAnswer:
    """Tokens and cost by person, model and/or tool per period (default: the 30 days
    before tomorrow, per day, by user and model). tokens: input, output, cache_read,
    cache_write and their total; cost: USD decimal strings, charged = included (covered by
    the plan) + usage_based (billed beyond it); events: requests. With top=N only the N
    costliest groups over the range are listed (rank 1 = costliest) and `others` sums the
    rest; `totals` always covers the whole range."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    dims = tuple(dict.fromkeys(group_by or ("user", "model")))
    start, end = _range(who, start_date, end_date, 30)
    query = service.consumption_query(scope, start, end, dims, granularity, emails, model_ids)
    page = await service.consumption(who.runtime, query, limit=limit, after=None, top=top)
    body = render.consumption(page, granularity=granularity, start=start, end=end, dims=dims)
    return ConsumptionAnswer.model_validate(
        {"scope": scope.describe(), **body, "truncated": page.next_key is not None}
    )


async def chargeback(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: End = None,
    by: Annotated[ChargeBy, Field(description="Bucket by team or by cost center")] = "team",
    granularity: Annotated[Granularity, Field(description="Period of each row")] = "month",
    source: Source = "auto",
) -> ChargebackAnswer:
    """Cost per team (or cost center) per period, for chargeback (default: the 90 days
    before tomorrow, per month). Each person's usage goes to the team they belonged to on
    that day; people no team claims land in the `unallocated` bucket, so the buckets add up
    to the total. Each row: users, events, tokens and cost (USD decimal strings), with each
    tool's part in `products`."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    start, end = _range(who, start_date, end_date, 90)
    try:
        report = await charges.chargeback(
            who.runtime, scope, start=start, end=end, by=by, granularity=granularity,
            source=source,
        )  # fmt: skip
    except charges.ChargebackError as exc:
        raise ToolError(str(exc)) from exc
    body = render.chargeback(report, granularity=granularity, start=start, end=end)
    return ChargebackAnswer.model_validate({"scope": scope.describe(), **body})


async def list_anomalies(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    status: Annotated[
        AnomalyStatus | None, Field(description="open, acknowledged, resolved")
    ] = None,
    kind: Annotated[AnomalyKind | None, Field(description="Only this kind")] = None,
    limit: Annotated[int, Field(ge=1, le=1000, description="Rows returned at most")] = 100,
) -> AnomaliesAnswer:
    """Usage anomalies found after each sync, newest first: a person's daily cost, tokens or
    headless (agent) cost far above their own baseline (cost_spike, token_spike,
    headless_spike), a costly new model (expensive_model), failing or runaway cloud agents.
    `details` holds the evidence: the day's cost and its usual value (USD decimal strings),
    the multiple of the baseline and the robust z-score."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    page = await anomalies.page(
        who.runtime, scope.account_ids, status=status, kind=kind, position=None, limit=limit
    )
    return AnomaliesAnswer.model_validate({
        "result": [anomalies.render(a) for a in page.items],
        "truncated": page.next_key is not None,
    })  # fmt: skip


async def adoption(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: Annotated[Day | None, Field(description="Last day, exclusive; default today")] = None,
    source: Source = "auto",
) -> AdoptionAnswer:
    """Adoption scorecards per team (default: the 30 days before today) against the period
    of the same length before it: daily / weekly / monthly active people (DAU, WAU, MAU),
    acceptance of suggestions, feature shares, cohorts by active days, and the change."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    start, end = _range(who, start_date, end_date or service.today(who.runtime), 30)
    body = await adoption_scores.adoption(who.runtime, scope, start=start, end=end, source=source)
    return AdoptionAnswer.model_validate({"scope": scope.describe(), **body})


async def ai_code(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: End = None,
    branch: Annotated[aicode.Branch, Field(description="primary: primary branches only")] = "all",
    group_by: Annotated[aicode.GroupBy, Field(description="team, user or repository")] = "team",
    granularity: Annotated[Granularity, Field(description="Period of each row")] = "week",
    source: Source = "auto",
    limit: Limit = 1000,
) -> AiCodeAnswer:
    """The AI share of committed code (default: the 30 days before tomorrow, per week, per
    team): lines added by origin (AI tab completions, agent edits, by hand) and the AI share
    of them (0 to 1), per group and period; and per team and month the spend (USD decimal
    string) over the AI lines committed (cost_per_ai_line). Needs the vendor's AI code
    tracking; `notes` say what is missing."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    start, end = _range(who, start_date, end_date, 30)
    report = await aicode.ai_code(
        who.runtime, scope, start=start, end=end, branch=branch, group_by=group_by,
        granularity=granularity, source=source,
    )  # fmt: skip
    rows = [aicode.group_body(report, key, lines) for key, lines in report.groups[:limit]]
    return AiCodeAnswer.model_validate({
        "scope": scope.describe(), **aicode.body(report), "result": rows,
        "truncated": len(report.groups) > limit,
    })  # fmt: skip


async def people(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: End = None,
    as_of: Annotated[
        Day | None, Field(description="Seats held on this day; default the range's last day")
    ] = None,
    sort: Annotated[persons.Sort, Field(description="-cost: costliest first")] = "-cost",
    limit: Annotated[int, Field(ge=1, le=1000, description="People returned at most")] = 100,
) -> PeopleAnswer:
    """Each person across tools (default: the 30 days before tomorrow): emails matched
    case-insensitively and directory aliases resolved, the tools they hold a seat in, and
    per tool cost (USD decimal strings), tokens and active days; estimated charges are
    counted and flagged. `summary` counts people and seats per tool and who holds several."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    start, end = _range(who, start_date, end_date, 30)
    day = as_of or end - dt.timedelta(days=1)
    report = await persons.people(who.runtime, scope, start=start, end=end, as_of=day, sort=sort)
    return PeopleAnswer.model_validate({
        "scope": scope.describe(), "start_date": start, "end_date": end, "as_of": day,
        "sort": sort, "summary": persons.summary(report),
        "result": [persons.person_body(p, report.names) for p in report.people[:limit]],
        "truncated": len(report.people) > limit,
    })  # fmt: skip


async def audit(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    as_of: Annotated[Day | None, Field(description="The day to audit; default today")] = None,
) -> AuditAnswer:
    """Provisioning audit, each finding with its evidence: seats missing from the uploaded
    directory, offboarded people still holding a seat, admins outside the allow-list, usage
    after a member's removal, seats never active. `counts` per type is null where a type
    could not be checked (no directory, no allow-list: `notes` say so), never 0."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    day = as_of or service.today(who.runtime)
    findings = await audits.audit(who.runtime, scope, day)
    return AuditAnswer.model_validate({"scope": scope.describe(), **render.audit(findings, day)})


async def reconciliation(
    ctx: Ctx, integrated_account_id: AccountId = None, tenant_id: TenantId = None
) -> ReconciliationAnswer:
    """Billed spend per member and billing cycle (the vendor's spend report) against the
    sum of the stored usage events' charges: per cycle billed, events and drift (USD decimal
    strings), and the members whose two figures differ."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id)
    cycles = await charges.reconcile(who.runtime, scope)
    return ReconciliationAnswer.model_validate(
        {"scope": scope.describe(), **render.reconciliation(cycles)}
    )


async def agents(
    ctx: Ctx,
    integrated_account_id: AccountId = None,
    tenant_id: TenantId = None,
    product: Products = None,
    start_date: Start = None,
    end_date: End = None,
    source: Source = "auto",
    limit: Limit = 1000,
) -> AgentsAnswer:
    """Cloud-agent runs (default: the 30 days before tomorrow): runs by status, success
    rate (finished / terminal runs), duration percentiles, pull requests, tokens and cost
    per run (USD decimal strings), in total, per team and per person (`result`)."""
    who = caller(ctx)
    scope = await _scope(who, integrated_account_id, tenant_id, product)
    start, end = _range(who, start_date, end_date, 30)
    report = await agent_runs.agents(who.runtime, scope, start=start, end=end, source=source)
    rows = agent_runs.person_rows(report)
    return AgentsAnswer.model_validate({
        "scope": scope.describe(), **agent_runs.body(report), "result": rows[:limit],
        "truncated": len(rows) > limit,
    })  # fmt: skip


TOOLS = (
    list_accounts, seats, consumption, chargeback, list_anomalies, adoption, ai_code, people,
    audit, reconciliation, agents,
)  # fmt: skip
