"""Cursor in the conformance suite, on the simulator and comparisons of tests/support."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.connectors.conformance.harness import CredentialKind, Gate, Transport
from tests.support.compare import (
    assert_daily_equal_truth,
    assert_events_equal_truth,
    assert_members_equal_truth,
    canonical,
    rows,
)
from tests.support.live import serve
from tests.support.world import FAST_RETRY, SIM_BASE_URL, make_sim
from unimeter.connectors.contract import Connector, Credentials
from unimeter.connectors.cursor.budget import RateBudget
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import SimulatedCursor, create_app
from unimeter.db.models import AgentRun, AiChange, Commit
from unimeter.runtime import Runtime

READ_ONLY_KEY = "crsr_" + "9" * 64
# The Enterprise-only families a gate refuses (a 404 from the transport, a 403 on the team
# plan): billing groups, the audit log, Analytics and AI Code Tracking.
GATED_PATHS = ("/teams/audit-logs", "/teams/groups", "/analytics/")
ENTERPRISE_STREAMS = frozenset(
    {"ai_code_commits", "ai_code_changes", "team_analytics", "user_analytics",
     "conversation_insights"}
)  # fmt: skip
MINUTE_SECONDS = 0.05


class _NotFound:
    """Answers Cursor's own 404 for the gated paths: the transport seam, not a patch."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GATED_PATHS):
            body = b'{"error":"Not Found","message":"Not Found: ' + scope["path"].encode() + b'"}'
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


@dataclass
class CursorVendor:
    sim: SimulatedCursor
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    # Whether the Enterprise families answer (no gate): then their records are compared too.
    enterprise: bool = True

    def connector(self) -> Connector:
        return _connector(self.transport)

    def credentials(self, kind: CredentialKind = "valid") -> Credentials:
        key = {"valid": self.sim.keys[0], "invalid": "crsr_" + "0" * 64,
               "not_admin": READ_ONLY_KEY}[kind]  # fmt: skip
        return {"api_key": key}

    def revoke(self) -> None:
        self.sim.revoke(self.sim.keys[0])

    def requests(self) -> int:
        return self.sim.requests[self.sim.keys[0]]

    def now_ms(self) -> int:
        return self.sim.clock.now_ms()

    async def assert_matches_truth(self, runtime: Runtime, account_id: str) -> None:
        truth = self.sim.truth()
        floor = truth.history_start_ms
        await assert_members_equal_truth(runtime, account_id, truth.members())
        await assert_events_equal_truth(runtime, account_id, truth.events(floor))
        await assert_daily_equal_truth(runtime, account_id, truth.daily_usage(floor))
        if self.enterprise:
            await assert_code_equals_truth(runtime, account_id, truth, floor)
        await assert_runs_equal_truth(runtime, account_id, truth)


async def assert_code_equals_truth(
    runtime: Runtime, account_id: str, truth: Any, floor: int
) -> None:
    """Every commit and AI change Cursor serves, stored once, payload as served."""
    now = truth.now_ms
    commits = await rows(runtime, Commit, account_id)
    served = truth.commits(floor, now, retention=True)
    assert Counter(canonical(c.raw) for c in commits) == Counter(map(canonical, served))
    changes = await rows(runtime, AiChange, account_id)
    served = truth.changes(floor, now, retention=True)
    assert Counter(canonical(c.raw) for c in changes) == Counter(map(canonical, served))


async def assert_runs_equal_truth(runtime: Runtime, account_id: str, truth: Any) -> None:
    """One row per cloud agent run, the run as Cursor serves it."""
    stored = await rows(runtime, AgentRun, account_id)
    served = [run for a in truth.agents(retention=True) for run in truth.runs(a["id"])]
    assert Counter(canonical(r.raw["run"]) for r in stored) == Counter(map(canonical, served))


def _connector(transport: httpx.AsyncBaseTransport | None) -> CursorConnector:
    return CursorConnector(
        minute_seconds=MINUTE_SECONDS,
        transport=transport,
        retry=FAST_RETRY,
        timeout=10.0,
        budget=RateBudget(minute_seconds=MINUTE_SECONDS),
    )


class CursorHarness:
    name = "cursor"
    slug = "cursor"
    usage_stream = "usage_events"
    gated_streams = frozenset({"billing_groups", "audit_logs"}) | ENTERPRISE_STREAMS
    proxy_path = "/teams/members"
    # Spend is a point-in-time reading: each run stores one, for history.
    per_run_streams = frozenset({"spend"})
    per_run_tables = frozenset({"spend_snapshots", "spend_snapshot_members"})

    @contextmanager
    def start(
        self,
        *,
        seed: int,
        transport: Transport = "asgi",
        gate: Gate | None = None,
        small_pages: bool = False,
    ) -> Iterator[CursorVendor]:
        # Eight people over twenty days make a few thousand events: several pages of
        # Cursor's largest page (1000) in every window, so pages are always "small".
        settings: dict[str, Any] = {"seed": seed, "users": 8, "days": 20, "enterprise_apis": True}
        sim = make_sim(read_only_keys=(READ_ONLY_KEY,), plan="team" if gate == 403 else
                       "enterprise", **settings)  # fmt: skip
        app: ASGIApp = create_app(sim)
        if gate == 404:
            app = _NotFound(app)
        if transport == "http":
            with serve(app) as base_url:
                yield CursorVendor(sim, base_url, None, enterprise=gate is None)
        else:
            transport_ = httpx.ASGITransport(app=app)
            yield CursorVendor(sim, SIM_BASE_URL, transport_, enterprise=gate is None)

    def child_connector(self) -> Connector:
        return _connector(None)
