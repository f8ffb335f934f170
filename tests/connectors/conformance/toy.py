"""The toy vendor (tests/toyvendor) in the conformance suite."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from tests.connectors.conformance.harness import CredentialKind, Gate, Transport
from tests.support.live import serve
from tests.toyvendor.connector import ToyConnector
from tests.toyvendor.simulator import SimulatedToy, ToyConfig, create_app
from tests.toyvendor.simulator.world import Plan
from tests.toyvendor.truth import PRODUCT, ToyTruth
from unimeter.connectors.contract import Connector, Credentials
from unimeter.db.models import AuditEvent, Member, UsageFact
from unimeter.runtime import Runtime

SIM_BASE_URL = "http://toy.sim"
PLANS: dict[Gate | None, Plan] = {None: "enterprise", 403: "basic", 404: "legacy"}


@dataclass
class ToyVendor:
    sim: SimulatedToy
    base_url: str
    transport: httpx.AsyncBaseTransport | None

    def connector(self) -> Connector:
        return ToyConnector(transport=self.transport)

    def credentials(self, kind: CredentialKind = "valid") -> Credentials:
        if kind == "invalid":
            return {"api_key": "toy_sk_admin_" + "0" * 32, "organization_id": self.sim.org_id}
        return self.sim.credentials(self.sim.member_key if kind == "not_admin" else None)

    def revoke(self) -> None:
        self.sim.revoked.add(self.sim.admin_key)

    def requests(self) -> int:
        return self.sim.requests

    def now_ms(self) -> int:
        return self.sim.now_ms()

    async def assert_matches_truth(self, runtime: Runtime, account_id: str) -> None:
        truth = ToyTruth(self.sim)
        async with runtime.db.reader() as session:
            members = (
                await session.scalars(select(Member).where(Member.account_id == account_id))
            ).all()
            facts = (
                await session.scalars(select(UsageFact).where(UsageFact.account_id == account_id))
            ).all()
            audit = (
                await session.scalars(
                    select(AuditEvent.remote_id).where(AuditEvent.account_id == account_id)
                )
            ).all()
        assert {(m.remote_id, m.email, m.name, m.role, m.is_removed) for m in members} == {
            (t.remote_id, t.email, t.name, t.role, t.is_removed) for t in truth.members()
        }
        assert all(f.product == PRODUCT and not f.is_day_total for f in facts)
        stored = Counter(
            (f.day, f.user_email, f.actor, f.surface, f.model, f.requests, f.input_tokens,
             f.output_tokens, f.cache_read_tokens, f.cache_write_tokens, f.cost_cents_e6)
            for f in facts
        )  # fmt: skip
        expected = Counter(
            (t.day, t.user_email, t.actor, t.surface, t.model, t.requests, t.input_tokens,
             t.output_tokens, t.cache_read_tokens, t.cache_write_tokens, t.cost_cents_e6)
            for t in truth.facts()
        )  # fmt: skip
        assert stored == expected
        if self.sim.config.plan == "enterprise":
            assert set(audit) == truth.audit_ids()


class ToyHarness:
    name = "toy"
    slug = "toy"
    usage_stream = "usage"
    gated_streams = frozenset({"audit_log"})
    proxy_path = "/v1/organization"
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
    ) -> Iterator[ToyVendor]:
        config = ToyConfig(
            seed=seed, users=10, days=40, plan=PLANS[gate], max_page_size=5 if small_pages else 100
        )
        sim = SimulatedToy(config)
        app = create_app(sim)
        if transport == "http":
            with serve(app) as base_url:
                yield ToyVendor(sim, base_url, None)
        else:
            yield ToyVendor(sim, SIM_BASE_URL, httpx.ASGITransport(app=app))

    def child_connector(self) -> Connector:
        return ToyConnector()
