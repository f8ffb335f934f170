"""HTTP routes of the AI-code analyses: ``/analytics/ai-code``, ``/analytics/agents`` and
``/analytics/ai-usage``, per account or across a tenant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from unimeter.api.deps import PrincipalDep, RuntimeDep
from unimeter.api.errors import COMMON_ERRORS, bad_request
from unimeter.api.pagination import codec, read_cursor
from unimeter.api.params import Day
from unimeter.api.responses import JSON
from unimeter.kit.cursors import query_fingerprint

from .. import agents as agent_runs
from .. import aicode, aiusage
from ..chargeback import SourceChoice
from ..schemas import Granularity
from . import AccountQuery, ProductQuery, TenantQuery, _range, scope_of

router = APIRouter(prefix="/analytics", tags=["analytics"], responses={**COMMON_ERRORS})

StartQuery = Annotated[Day | None, Query(description="Inclusive (UTC day)")]
EndQuery = Annotated[Day | None, Query(description="Exclusive (UTC day)")]
SourceQuery = Annotated[SourceChoice, Query(description="Team map; auto: the directory if any")]


def _next(request: Request, key: list[Any] | None, filters: dict[str, Any]) -> str | None:
    fingerprint = query_fingerprint(filters)
    return codec(request).encode(key, "next", fingerprint) if key else None


@router.get("/ai-code", response_model=None, response_class=JSON)
async def ai_code(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    branch: Annotated[aicode.Branch, Query(description="primary: primary branches only")] = "all",
    group_by: aicode.GroupBy = "team",
    granularity: Granularity = "week",
    source: SourceQuery = "auto",
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    next_cursor: str | None = None,
) -> JSON:
    """Committed lines by origin (AI completions, agent edits, by hand) and the AI share, per
    team, person or repository and period; and per team and month the spend over the AI
    lines committed, beside the team's adoption. ``result`` is paginated, the rest covers
    the whole range."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date, 30)
    filters: dict[str, Any] = {
        "route": "analytics/ai-code", **scope.describe(), "start": start.isoformat(),
        "end": end.isoformat(), "branch": branch, "group_by": group_by,
        "granularity": granularity, "source": source,
    }  # fmt: skip
    position = read_cursor(request, next_cursor, filters)
    report = await aicode.ai_code(
        runtime, scope, start=start, end=end, branch=branch, group_by=group_by,
        granularity=granularity, source=source,
    )  # fmt: skip
    rest = aicode.after(report.groups, position.key) if position else report.groups
    page = rest[:limit]
    key = aicode.cursor_key(page[-1][0]) if len(rest) > limit and page else None
    return JSON({
        "scope": scope.describe(), **aicode.body(report),
        "result": [aicode.group_body(report, k, lines) for k, lines in page],
        "next_cursor": _next(request, key, filters),
    })  # fmt: skip


@router.get("/agents", response_model=None, response_class=JSON)
async def agents(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    source: SourceQuery = "auto",
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    next_cursor: str | None = None,
) -> JSON:
    """Cloud-agent runs by status, success rate (finished / terminal runs), duration
    percentiles, pull requests, tokens and cost per run: in total, per team, and per person
    (``result``, paginated)."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    start, end = _range(runtime, start_date, end_date, 30)
    filters: dict[str, Any] = {
        "route": "analytics/agents", **scope.describe(), "start": start.isoformat(),
        "end": end.isoformat(), "source": source,
    }  # fmt: skip
    position = read_cursor(request, next_cursor, filters)
    report = await agent_runs.agents(runtime, scope, start=start, end=end, source=source)
    rows = agent_runs.person_rows(report)
    rest = agent_runs.after(rows, position.key) if position else rows
    page = rest[:limit]
    key = [page[-1]["user_email"]] if len(rest) > limit and page else None
    return JSON({
        "scope": scope.describe(), **agent_runs.body(report), "result": page,
        "next_cursor": _next(request, key, filters),
    })  # fmt: skip


@router.get("/ai-usage", response_model=None, response_class=JSON)
async def ai_usage(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    integrated_account_id: AccountQuery = None,
    tenant_id: TenantQuery = None,
    product: ProductQuery = None,
    start_date: StartQuery = None,
    end_date: EndQuery = None,
    granularity: Granularity = "week",
    kind: Annotated[
        list[str] | None, Query(description="Only these kinds (intent, mcp_tool, ...)")
    ] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="Keys shown per kind")] = 20,
) -> JSON:
    """What the team uses AI for, over time: conversation insights (intent, work type,
    complexity, category, guidance level), MCP tools, commands, skills, modes and models.
    Counts only; the keys beyond ``top`` are summed in ``others``."""
    scope = await scope_of(
        runtime, principal.environment_id, integrated_account_id, tenant_id, product
    )
    unknown = sorted(set(kind or ()) - set(aiusage.KINDS))
    if unknown:
        raise bad_request(f"unknown kind(s) {', '.join(unknown)}; known: "
                          f"{', '.join(aiusage.KINDS)}")  # fmt: skip
    kinds = tuple(k for k in aiusage.KINDS if not kind or k in kind)
    start, end = _range(runtime, start_date, end_date, 30)
    body = await aiusage.ai_usage(runtime, scope, start=start, end=end, granularity=granularity,
                                  kinds=kinds, top=top)  # fmt: skip
    return JSON({"scope": scope.describe(), **body})
