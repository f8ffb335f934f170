"""The MCP tools against the API, in process (the SDK's in-memory client), on both
backends: the same numbers for the same arguments, the token's environment only, and bad
arguments answered as tool errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp.shared.memory import create_connected_server_and_client_session

from tests.mcp.support import assert_same, call, refused
from tests.support.api import api_world
from unimeter.auth.service import authenticate
from unimeter.mcp.auth import Caller
from unimeter.mcp.server import METRICS_URI, build_server

RANGE = {"start_date": "2026-05-01", "end_date": "2026-06-15"}


async def test_tools_answer_what_the_api_answers(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        principal = await authenticate(api.world.runtime, api.tokens["default"])
        assert principal is not None
        server = build_server(Caller(api.world.runtime, principal))
        async with create_connected_server_and_client_session(server) as session:
            listed = await call(session, "list_accounts")
            via_api = (await api.get("/integrated-accounts")).json()
            assert [a["id"] for a in listed["result"]] == [account]
            assert_same(via_api["result"], listed["result"])

            scope = {"integrated_account_id": account}
            cases: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
                ("seats", "/analytics/seats", {"idle_days": 2}, {"idle_days": 2}),
                (
                    "consumption",
                    "/analytics/consumption",
                    {"group_by": ["model"], "granularity": "total", "top": 3, **RANGE},
                    {"group_by[]": "model", "granularity": "total", "top": 3, **RANGE},
                ),
                ("consumption", "/analytics/consumption", RANGE, RANGE),
                ("chargeback", "/analytics/chargeback", RANGE, RANGE),
                ("people", "/analytics/people", RANGE, RANGE),
                ("adoption", "/analytics/adoption", RANGE, RANGE),
                ("ai_code", "/analytics/ai-code", RANGE, RANGE),
                ("list_anomalies", "/analytics/anomalies", {}, {}),
                ("audit", "/analytics/audit", {"as_of": "2026-06-14"}, {"as_of": "2026-06-14"}),
                ("reconciliation", "/analytics/reconciliation", {}, {}),
                ("agents", "/analytics/agents", RANGE, RANGE),
            ]
            answers = {}
            for tool, route, arguments, params in cases:
                answer = answers[tool] = await call(session, tool, **scope, **arguments)
                response = await api.get(route, **scope, **params)
                assert response.status_code == 200, response.text
                assert_same(response.json(), answer, tool)
            # Not vacuous: the world has findings to audit and a billed cycle to reconcile;
            # a type that could not be checked (no directory) counts null, never 0.
            assert answers["audit"]["result"] and answers["audit"]["counts"]["never_active"]
            assert answers["audit"]["counts"]["offboarded_with_seat"] is None
            assert answers["reconciliation"]["cycles"][0]["members"] > 0
            usage = await call(session, "consumption", **scope, granularity="total", **RANGE)
            assert usage["result"] and usage["totals"]["tokens"]["total"] > 0
            assert usage["truncated"] is False

            doc = await session.read_resource(METRICS_URI)  # type: ignore[arg-type]
            text = doc.contents[0].text  # type: ignore[union-attr]
            assert text == (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()


async def test_tools_see_their_environment_only_and_refuse_bad_arguments(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        mine, theirs = api.accounts["other"], api.accounts["default"]
        principal = await authenticate(api.world.runtime, api.tokens["other"])
        assert principal is not None
        server = build_server(Caller(api.world.runtime, principal))
        async with create_connected_server_and_client_session(server) as session:
            listed = await call(session, "list_accounts")
            assert [a["id"] for a in listed["result"]] == [mine]
            api_said = (await api.get("/analytics/seats", integrated_account_id=theirs,
                                      env="other")).json()["message"]  # fmt: skip
            for tool in ("seats", "consumption", "people", "list_anomalies", "audit", "agents"):
                message = await refused(session, tool, integrated_account_id=theirs)
                assert api_said in message, message
            assert "tenant not found" in await refused(session, "seats", tenant_id="tenant-default")

            both = await refused(session, "seats", integrated_account_id=mine, tenant_id="x")
            assert "exactly one of integrated_account_id and tenant_id" in both
            backwards = await refused(
                session, "consumption", integrated_account_id=mine,
                start_date="2026-06-10", end_date="2026-06-01",
            )  # fmt: skip
            assert "start_date must be before end_date" in backwards
            assert "start_date" in await refused(
                session, "consumption", integrated_account_id=mine, start_date="yesterday"
            )
            assert "group_by" in await refused(
                session, "consumption", integrated_account_id=mine, group_by=["team"]
            )
            assert "unknown product" in await refused(
                session, "seats", integrated_account_id=mine, product=["nope"]
            )
