"""Cursor in the conformance suite, on the simulator and comparisons of tests/support."""

from __future__ import annotations

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
)
from tests.support.live import serve
from tests.support.world import FAST_RETRY, SIM_BASE_URL, make_sim
from unimeter.connectors.contract import Connector, Credentials
from unimeter.connectors.cursor.budget import RateBudget
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.simulator import SimulatedCursor, create_app
from unimeter.runtime import Runtime

READ_ONLY_KEY = "crsr_" + "9" * 64
GATED_PATHS = ("/teams/audit-logs", "/teams/groups")
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
    gated_streams = frozenset({"billing_groups", "audit_logs"})
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
        settings: dict[str, Any] = {"seed": seed, "users": 8, "days": 20}
        sim = make_sim(read_only_keys=(READ_ONLY_KEY,), plan="team" if gate == 403 else
                       "enterprise", **settings)  # fmt: skip
        app: ASGIApp = create_app(sim)
        if gate == 404:
            app = _NotFound(app)
        if transport == "http":
            with serve(app) as base_url:
                yield CursorVendor(sim, base_url, None)
        else:
            yield CursorVendor(sim, SIM_BASE_URL, httpx.ASGITransport(app=app))

    def child_connector(self) -> Connector:
        return _connector(None)
