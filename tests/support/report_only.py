"""A vendor that reports members and usage facts and has no events, for the tests of the
generic path (the facts writer, the rollups, the unified API over fact profiles)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from unimeter.connectors.contract import (
    ANALYSES,
    CredentialField,
    Credentials,
    ModelInfo,
    Product,
    ProxyRequest,
    ProxyResponse,
    Validation,
)
from unimeter.connectors.facts import FactProfile, UsageFactRecord
from unimeter.connectors.records import MemberRecord
from unimeter.connectors.simulators import SimulatorSpec
from unimeter.connectors.source import Record, RequestStats, Source, StreamSpec, Window
from unimeter.connectors.windows import DAY_MS

STREAMS = (
    StreamSpec("members", windowed=False, required=True, provides="members"),
    StreamSpec("usage_report", windowed=True, provides="usage_facts"),
)


@dataclass
class ReportOnlySource:
    """A vendor that reports members and per (member, model, day) aggregates, no events."""

    facts: list[UsageFactRecord]
    streams: tuple[StreamSpec, ...] = field(default_factory=lambda: STREAMS)
    counters_: dict[str, RequestStats] = field(default_factory=dict)

    async def probe_floor(self, now_ms: int, max_days: int) -> int | None:
        oldest = min(f.day for f in self.facts)
        return (
            int(dt.datetime(oldest.year, oldest.month, oldest.day, tzinfo=dt.UTC).timestamp())
            * 1000
        )

    def fetch(self, stream: str, window: Window | None) -> AsyncIterator[list[Record]]:
        return self._members() if stream == "members" else self._report(window)

    async def _members(self) -> AsyncIterator[list[Record]]:
        emails = sorted({f.user_email for f in self.facts if f.user_email})
        yield [
            MemberRecord(remote_id=e, email=e, name=None, role=None, is_removed=False)
            for e in emails
        ]

    async def _report(self, window: Window | None) -> AsyncIterator[list[Record]]:
        assert window is not None
        start, end = window.start_ms // DAY_MS, window.end_ms // DAY_MS
        chosen: list[Record] = [
            f for f in self.facts if start <= (f.day - dt.date(1970, 1, 1)).days <= end
        ]
        yield chosen

    def counters(self, stream: str) -> RequestStats:
        return self.counters_.setdefault(stream, RequestStats())


@dataclass
class ReportConnector:
    """A connector over a fixed list of facts (no HTTP: the source is the seam)."""

    facts_to_report: list[UsageFactRecord]
    products: tuple[Product, ...]
    facts: FactProfile
    slug: str = "reports"
    display_name: str = "Reports"
    workspace_term: str = "organization"
    credential_fields: tuple[CredentialField, ...] = (CredentialField("token", "Token"),)
    default_base_url: str = "http://reports.invalid"
    proxy_prefixes: tuple[str, ...] = ()
    streams: tuple[StreamSpec, ...] = STREAMS
    admin_roles: frozenset[str] = frozenset()
    analyses: frozenset[str] = ANALYSES
    simulator: SimulatorSpec | None = None

    async def validate(self, credentials: Credentials, base_url: str | None) -> Validation:
        return Validation(members=len({f.user_email for f in self.facts_to_report}))

    @asynccontextmanager
    async def open_source(
        self, credentials: Credentials, base_url: str | None
    ) -> AsyncIterator[Source]:
        yield ReportOnlySource(self.facts_to_report)

    async def proxy(
        self, credentials: Credentials, base_url: str | None, request: ProxyRequest
    ) -> ProxyResponse:
        return ProxyResponse(status=404, body=b"", headers={})

    def describe_model(self, model_id: str) -> ModelInfo:
        return ModelInfo(model_id, "reports")
