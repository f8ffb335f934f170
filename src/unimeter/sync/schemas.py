"""Sync runs as the API shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from unimeter.db.models import SyncRun
from unimeter.sync.engine.report import unavailable_warning


def iso(ms: int | None) -> dt.datetime | None:
    return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class StreamStatsOut(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = Field(0, description="429 responses received from the vendor")
    seconds: float = 0.0
    waited_seconds: float = Field(0.0, description="Time spent waiting on rate limits")
    backoff_seconds: float = Field(0.0, description="Part of it spent before retries")
    status: str = Field(
        "synced",
        description="synced, or unavailable when the vendor does not offer the stream to "
        "this account (its plan lacks it)",
    )
    unavailable_reason: str | None = Field(None, description="What the vendor answered")


class SyncRunOut(BaseModel):
    id: str
    integrated_account_id: str
    status: str = Field(description="queued, running, succeeded or failed")
    trigger: str
    full: bool
    since: dt.datetime | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    requests: int
    retries: int
    rate_limited: int
    errors: int
    waited_seconds: float
    wait_reason: str | None = Field(
        description="Why the run waited, when it did: the vendor's rate limit (429 with "
        "Retry-After), retries after errors, or pacing under the client-side rate budget"
    )
    error: str | None
    warnings: list[str] = Field(
        description="Streams the account's plan does not include; the run still succeeds"
    )
    streams: dict[str, StreamStatsOut]

    @classmethod
    def of(cls, run: SyncRun) -> SyncRunOut:
        stats: dict[str, Any] = run.stats or {}
        streams = {
            name: StreamStatsOut.model_validate(values)
            for name, values in stats.items()
            if not name.startswith("_") and isinstance(values, dict)
        }
        return cls(
            id=run.id,
            integrated_account_id=run.account_id,
            status=run.status,
            trigger=run.trigger,
            full=run.full,
            since=iso(run.since_ms),
            created_at=iso(run.created_at) or dt.datetime.now(dt.UTC),
            started_at=iso(run.started_at),
            finished_at=iso(run.finished_at),
            requests=run.requests,
            retries=run.retries,
            rate_limited=run.rate_limited,
            errors=run.errors,
            waited_seconds=run.waited_seconds,
            wait_reason=wait_reason(run, streams),
            error=run.error,
            warnings=[
                unavailable_warning(name, s.unavailable_reason)
                for name, s in streams.items()
                if s.status == "unavailable"
            ],
            streams=streams,
        )


# Pacing shorter than this is the normal rhythm of a sync, not worth explaining.
NOTABLE_WAIT_SECONDS = 1.0


def wait_reason(run: SyncRun, streams: dict[str, StreamStatsOut]) -> str | None:
    backoff = sum(s.backoff_seconds for s in streams.values())
    paced = max(0.0, run.waited_seconds - backoff)
    reasons = []
    if run.rate_limited:
        reasons.append(
            f"the vendor answered 429 (rate limited) {run.rate_limited} times; waited "
            f"{backoff:.1f}s as its Retry-After asked, then resumed"
        )
    elif backoff >= NOTABLE_WAIT_SECONDS:
        reasons.append(f"retried {run.retries} failed requests after {backoff:.1f}s of backoff")
    if paced >= NOTABLE_WAIT_SECONDS:
        reasons.append(
            f"paced {paced:.1f}s by the client-side rate budget to stay within the vendor's limits"
        )
    return "; ".join(reasons) or None


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full: StrictBool = Field(False, description="Re-read everything from the oldest available day")
    since: dt.date | None = Field(None, description="Backfill from this day (UTC)")
