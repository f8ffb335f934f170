"""Routes of the Enterprise families: AI Code Tracking, Analytics and Cloud Agents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import agents_api, aicode, analytics, analytics_rows, insights
from .families import ANALYTICS, CLOUD_AGENTS, Family, Payload
from .world import TeamServices

Handler = Callable[[TeamServices, Request], Awaitable[dict[str, Any] | Payload]]
Endpoint = Callable[[str, Handler, Family], Callable[[Request], Awaitable[Response]]]


def enterprise_routes(endpoint: Endpoint) -> list[Route]:
    return [*_code_routes(endpoint), *_analytics_routes(endpoint), *_agent_routes(endpoint)]


def _analytics_routes(endpoint: Endpoint) -> list[Route]:
    def team(metric: str) -> Route:
        async def handler(svc: TeamServices, request: Request) -> dict[str, Any]:
            return analytics.team_metric(svc.analytics, metric, dict(request.query_params))

        return Route(f"/analytics/team/{metric}", endpoint("analytics", handler, ANALYTICS))

    def by_user(metric: str) -> Route:
        async def handler(svc: TeamServices, request: Request) -> dict[str, Any]:
            return analytics.by_user_metric(svc.analytics, metric, dict(request.query_params))

        path = f"/analytics/by-user/{metric}"
        return Route(path, endpoint("analytics_by_user", handler, ANALYTICS))

    async def leaderboard(svc: TeamServices, request: Request) -> dict[str, Any]:
        return analytics.leaderboard(svc.analytics, dict(request.query_params))

    async def conversation_insights(svc: TeamServices, request: Request) -> dict[str, Any]:
        if not svc.team.config.conversation_insights:
            raise analytics.insights_disabled()
        include = request.query_params.getlist("include")
        return insights.insights(svc.analytics, dict(request.query_params), include)

    return [
        *(team(m) for m in analytics_rows.METRICS),
        *(by_user(m) for m in analytics_rows.BY_USER),
        Route("/analytics/team/leaderboard", endpoint("analytics", leaderboard, ANALYTICS)),
        Route(
            "/analytics/team/conversation-insights",
            endpoint("analytics_insights", conversation_insights, ANALYTICS),
        ),
    ]


def _code_routes(endpoint: Endpoint) -> list[Route]:
    def code(
        name: str, serve: Callable[[aicode.AICode, dict[str, str]], dict[str, Any] | bytes]
    ) -> Route:
        async def handler(svc: TeamServices, request: Request) -> dict[str, Any] | Payload:
            body = serve(svc.aicode, dict(request.query_params))
            return Payload(body) if isinstance(body, bytes) else body

        # AI Code Tracking limits each endpoint separately.
        group = f"ai_code_{name}"
        return Route(f"/analytics/ai-code/{name}", endpoint(group, handler, ANALYTICS))

    return [
        code("commits", aicode.commits_response),
        code("commits.csv", aicode.commits_csv),
        code("changes", aicode.changes_response),
        code("changes.csv", aicode.changes_csv),
    ]


def _agent_routes(endpoint: Endpoint) -> list[Route]:
    def agents(path: str, serve: Callable[[TeamServices, Request], dict[str, Any]]) -> Route:
        async def handler(svc: TeamServices, request: Request) -> dict[str, Any]:
            return serve(svc, request)

        return Route(path, endpoint("cloud_agents", handler, CLOUD_AGENTS), methods=["GET"])

    def q(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    def p(request: Request, name: str) -> str:
        return str(request.path_params[name])

    return [
        agents("/v1/me", lambda s, r: agents_api.me_v1(s.team)),
        agents("/v0/me", lambda s, r: agents_api.me_v0(s.team)),
        agents("/v1/agents", lambda s, r: agents_api.list_agents_v1(s.agents, q(r))),
        agents("/v1/agents/{aid}", lambda s, r: agents_api.get_agent_v1(s.agents, p(r, "aid"))),
        agents(
            "/v1/agents/{aid}/runs",
            lambda s, r: agents_api.list_runs(s.agents, p(r, "aid"), q(r)),
        ),
        agents(
            "/v1/agents/{aid}/runs/{rid}",
            lambda s, r: agents_api.get_run(s.agents, p(r, "aid"), p(r, "rid")),
        ),
        agents(
            "/v1/agents/{aid}/usage",
            lambda s, r: agents_api.agent_usage(s.agents, p(r, "aid"), q(r)),
        ),
        agents("/v0/agents", lambda s, r: agents_api.list_agents_v0(s.agents, q(r))),
        agents("/v0/agents/{aid}", lambda s, r: agents_api.get_agent_v0(s.agents, p(r, "aid"))),
    ]
