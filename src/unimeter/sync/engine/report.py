"""What a sync run is asked to do and what it reports: options, per-stream stats, errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from unimeter.connectors.source import RequestCounters, Source
from unimeter.sync.store.counts import Counts


class SyncBusyError(Exception):
    """Another run holds this account's lock."""

    def __init__(self, account_id: str, run_id: str | None) -> None:
        super().__init__(f"account {account_id} is already being synced (run {run_id})")
        self.run_id = run_id


class SyncAuthError(Exception):
    """The vendor rejected the account's credentials; the account now needs re-auth."""


@dataclass(slots=True)
class StreamStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    errors: int = 0
    # Conditional requests the vendor answered "unchanged" (304): no body, no new rows.
    not_modified: int = 0
    waited_seconds: float = 0.0
    backoff_seconds: float = 0.0
    seconds: float = 0.0
    windows: int = 0
    windows_done: int = 0
    records: int = 0
    # ``synced``, or ``unavailable`` when the vendor does not offer the stream to this
    # account (its plan lacks it): then ``unavailable_reason`` says what the vendor answered.
    status: str = "synced"
    unavailable_reason: str | None = None

    def count(self, c: Counts) -> None:
        self.inserted += c.inserted
        self.updated += c.updated
        self.unchanged += c.unchanged
        self.records += c.inserted + c.updated + c.unchanged


@dataclass(frozen=True, slots=True)
class SyncOptions:
    full: bool = False
    since_ms: int | None = None
    streams: frozenset[str] | None = None  # None = every stream
    # Per-stream lookback overrides in days, e.g. {"usage_events": 2}.
    lookback_days: dict[str, int] = field(default_factory=dict)
    wait_for_lock: bool = False
    trigger: str = "manual"
    # Read windowed streams only up to this time (live reads of a past range).
    until_ms: int | None = None


Progress = Callable[[str, StreamStats], None]


@dataclass(slots=True)
class SyncReport:
    run_id: str
    account_id: str
    status: str
    streams: dict[str, StreamStats]
    seconds: float
    error: str | None = None
    attribution: dict[str, int] = field(default_factory=dict)
    trigger: str = "manual"

    @property
    def warnings(self) -> list[str]:
        """One line per stream the account's vendor plan does not include."""
        return [
            unavailable_warning(name, stats.unavailable_reason)
            for name, stats in self.streams.items()
            if stats.status == "unavailable"
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "account_id": self.account_id,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "streams": {name: _public(s) for name, s in self.streams.items()},
            "attribution": self.attribution,
            "warnings": self.warnings,
        }


def _public(s: StreamStats) -> dict[str, Any]:
    out = asdict(s)
    out["seconds"] = round(s.seconds, 3)
    out["waited_seconds"] = round(s.waited_seconds, 3)
    out["backoff_seconds"] = round(s.backoff_seconds, 3)
    return out


def totals_of(streams: dict[str, StreamStats]) -> StreamStats:
    totals = StreamStats()
    for s in streams.values():
        totals.requests += s.requests
        totals.retries += s.retries
        totals.rate_limited += s.rate_limited
        totals.errors += s.errors
        totals.waited_seconds += s.waited_seconds
        totals.backoff_seconds += s.backoff_seconds
    return totals


def unavailable_warning(stream: str, reason: str | None) -> str:
    return f"{stream} unavailable: {reason or 'refused by the vendor'}"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


# -- request counters, from a source into the report -------------------------------------


def copy_counters(counters: RequestCounters, stats: StreamStats) -> None:
    stats.requests, stats.retries = counters.requests, counters.retries
    stats.rate_limited, stats.errors = counters.rate_limited, counters.errors
    stats.not_modified = counters.not_modified
    stats.waited_seconds = counters.waited_seconds
    stats.backoff_seconds = counters.backoff_seconds


def with_live_counters(report: SyncReport, source: Source) -> SyncReport:
    """The report with request counters as they stand now (streams still in progress
    copy theirs only when they end)."""
    for name, stats in report.streams.items():
        copy_counters(source.counters(name), stats)
    return report


def from_counters(counters: RequestCounters, started: float) -> StreamStats:
    stats = StreamStats(windows=1, windows_done=1)
    copy_counters(counters, stats)
    stats.seconds = time.perf_counter() - started
    return stats
