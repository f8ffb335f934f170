"""What the sync engine needs from a vendor connector: streams, windows and records.

The errors a source raises live in :mod:`unimeter.connectors.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from typing import Any, Protocol, runtime_checkable

from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import (
    ActivityCountRecord,
    ActorRecord,
    AgentRunRecord,
    AiChangeRecord,
    AuditEventRecord,
    CommitRecord,
    DailyUsageRecord,
    GroupsRecord,
    MemberRecord,
    SpendSnapshotRecord,
    UsageEventRecord,
)

Record = (
    MemberRecord
    | DailyUsageRecord
    | UsageEventRecord
    | SpendSnapshotRecord
    | GroupsRecord
    | AuditEventRecord
    | UsageFactRecord
    | ActorRecord
    | CommitRecord
    | AiChangeRecord
    | AgentRunRecord
    | ActivityCountRecord
)


@dataclass(frozen=True, slots=True)
class Window:
    """A time range ``[start_ms, end_ms]``, both ends inclusive (as Cursor's are)."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class StreamSpec:
    name: str
    # Windowed streams are read in time windows and keep a watermark; the others are
    # read whole on every run (a snapshot).
    windowed: bool
    max_window_days: int = 30
    # Re-read on every incremental run, for late rows and changed values.
    lookback_days: int = 1
    # A deeper re-read at most once a day, for values that keep changing for longer.
    settle_days: int = 0
    # A required stream failing fails the run; any other may be unavailable to an account
    # (its plan lacks it) while the rest of the run succeeds.
    required: bool = False
    # What the stream feeds, in neutral terms, so analyses can say what they lack:
    # ``members``, ``daily_activity``, ``usage_events``, ``usage_facts`` (a connector's own
    # UsageFactRecords), ``actors`` (ActorRecords), ``spend``, ``teams``, ``audit_log``,
    # ``commits``, ``ai_changes``, ``agent_runs``, ``activity_counts``.
    provides: str = ""
    # The key of the stream's raw payloads that holds the person's email, if any: the raw
    # export puts back an email the vendor blanked and the sync recovered.
    email_field: str = ""
    # A member snapshot that lists current members only: whoever it leaves out was
    # removed (a vendor that drops people rather than flagging them).
    absent_means_removed: bool = False
    # A bulk stream's batches may be written several to a transaction while later ones are
    # read (sync/engine/batching.py); its store write must accept a row repeated in one
    # call (usage events do: a listing read again after it shifted).
    bulk: bool = False


class RequestCounters(Protocol):
    requests: int
    retries: int
    rate_limited: int
    errors: int
    not_modified: int
    waited_seconds: float
    backoff_seconds: float


@dataclass
class RequestStats:
    """Request counters a connector may use as its :class:`RequestCounters`; mutable and
    shared by reference."""

    requests: int = 0  # HTTP attempts sent
    retries: int = 0  # attempts beyond the first
    rate_limited: int = 0  # 429 responses received
    errors: int = 0  # failed attempts (5xx, transport, bad body), retried ones included
    not_modified: int = 0  # conditional requests answered "unchanged" (HTTP 304)
    waited_seconds: float = 0.0  # time spent waiting on the budget or before a retry
    backoff_seconds: float = 0.0  # the part of it spent before retries (Retry-After, 5xx)

    def merge(self, other: RequestStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Source(Protocol):
    streams: tuple[StreamSpec, ...]

    async def probe_floor(self, now_ms: int, max_days: int) -> int | None:
        """The start of the oldest day the vendor still returns data for, or None."""
        ...

    def fetch(self, stream: str, window: Window | None) -> AsyncIterator[list[Record]]:
        """Batches of records, in an order the engine may commit as it goes."""
        ...

    def counters(self, stream: str) -> RequestCounters:
        """Request counters of a stream, or of ``"probe"`` (finding the retention edge)."""
        ...


@runtime_checkable
class RememberingSource(Protocol):
    """A source that keeps a little state per stream from one run to the next (the ETags
    of its last answers, say). The engine keeps it per account and stream, beside the
    watermark: ``restore`` before the stream is read, ``memory`` saved after each committed
    window (so it never runs ahead of what the store holds). Optional: a source without it
    reads everything it is asked for every time."""

    def restore(self, stream: str, memory: dict[str, Any]) -> None: ...

    def memory(self, stream: str) -> dict[str, Any]: ...
