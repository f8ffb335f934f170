"""Anthropic in the conformance suite, on its simulator (frozen clock, fast minutes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.connectors.anthropic.conftest import FAST_RETRY, expected_claude_code
from tests.connectors.conformance.harness import CredentialKind, Gate, Transport
from tests.support.live import serve
from unimeter.connectors.anthropic.budget import AdaptiveBudget
from unimeter.connectors.anthropic.connector import AnthropicConnector
from unimeter.connectors.anthropic.simulator import (
    AnthropicSimConfig,
    SimulatedAnthropic,
    create_app,
)
from unimeter.connectors.contract import Connector, Credentials
from unimeter.db.models import Member, UsageFact
from unimeter.runtime import Runtime

SIM_BASE_URL = "http://anthropic.sim"
# 2026-06-15T12:34:56Z: the simulator's frozen now, which the child process's connector
# must share (it decides which days are complete).
NOW_MS = 1_781_526_896_000
MINUTE_SECONDS = 0.05
INVALID_KEY = "sk-ant-admin01-" + "0" * 93
GATED_PATH = "/v1/organizations/workspaces"
CLAUDE_CODE_METRICS = (
    "sessions", "lines_added", "lines_removed", "commits", "pull_requests",
    "tool_actions_accepted", "tool_actions_rejected", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_write_tokens", "cost_cents_e6",
)  # fmt: skip


class _Gate:
    """Answers Anthropic's own refusal for the gated paths: the transport seam, no patch."""

    def __init__(self, app: ASGIApp, status: int) -> None:
        self.app = app
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(GATED_PATH):
            kind = "permission_error" if self.status == 403 else "not_found_error"
            body = (
                b'{"type":"error","error":{"type":"' + kind.encode() + b'","message":"no"},'
                b'"request_id":"req_gate"}'
            )
            headers = [(b"content-type", b"application/json"), (b"request-id", b"req_gate")]
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _connector(transport: httpx.AsyncBaseTransport | None, page_size: int) -> AnthropicConnector:
    return AnthropicConnector(
        minute_seconds=MINUTE_SECONDS,
        transport=transport,
        retry=FAST_RETRY,
        timeout=10.0,
        budget=AdaptiveBudget(minute_seconds=MINUTE_SECONDS),
        page_size=page_size,
        clock=lambda: NOW_MS,
    )


@dataclass
class AnthropicVendor:
    sim: SimulatedAnthropic
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    page_size: int

    def connector(self) -> Connector:
        return _connector(self.transport, self.page_size)

    def credentials(self, kind: CredentialKind = "valid") -> Credentials:
        key = {"valid": self.sim.keys[0], "invalid": INVALID_KEY,
               "not_admin": self.sim.non_admin_key}[kind]  # fmt: skip
        return {"api_key": key}

    def revoke(self) -> None:
        self.sim.revoke(self.sim.keys[0])

    def requests(self) -> int:
        return self.sim.requests(self.sim.keys[0])

    def now_ms(self) -> int:
        return NOW_MS

    async def assert_matches_truth(self, runtime: Runtime, account_id: str) -> None:
        truth = self.sim.truth()
        async with runtime.db.reader() as session:
            members = (
                await session.scalars(select(Member).where(Member.account_id == account_id))
            ).all()
            facts = (
                await session.scalars(
                    select(UsageFact).where(
                        UsageFact.account_id == account_id, UsageFact.product == "claude_code"
                    )
                )
            ).all()
        current = {u.id: u for u in truth.users() if u.removed_at_ms is None}
        assert {(m.remote_id, m.email, m.name, m.role) for m in members if not m.is_removed} == {
            (u.id, u.email.lower(), u.name, u.role) for u in current.values()
        }
        stored = {
            (f.day, f.user_email, f.actor, f.surface, f.model, f.is_day_total): {
                name: getattr(f, name)
                for name in CLAUDE_CODE_METRICS
                if getattr(f, name) is not None
            }
            for f in facts
        }
        assert stored == expected_claude_code(self.sim)


class AnthropicHarness:
    name = "anthropic"
    slug = "anthropic"
    usage_stream = "claude_code"
    gated_streams = frozenset({"workspaces"})
    proxy_path = "/v1/organizations/users"
    per_run_streams: frozenset[str] = frozenset()
    per_run_tables: frozenset[str] = frozenset()

    @contextmanager
    def start(
        self,
        *,
        seed: int,
        transport: Transport = "asgi",
        gate: Gate | None = None,
        small_pages: bool = False,
    ) -> Iterator[AnthropicVendor]:
        settings: dict[str, Any] = {"seed": seed, "users": 8, "days": 20, "now_ms": NOW_MS,
                                    "minute_seconds": MINUTE_SECONDS}  # fmt: skip
        sim = SimulatedAnthropic(AnthropicSimConfig(**settings))
        app: ASGIApp = create_app(sim)
        if gate is not None:
            app = _Gate(app, gate)
        page_size = 3 if small_pages else 1000
        if transport == "http":
            with serve(app) as base_url:
                yield AnthropicVendor(sim, base_url, None, page_size)
        else:
            yield AnthropicVendor(sim, SIM_BASE_URL, httpx.ASGITransport(app=app), page_size)

    def child_connector(self) -> Connector:
        # The SIGKILL check pages small over real HTTP, like its parent.
        return _connector(None, 3)
