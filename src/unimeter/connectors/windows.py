"""Day-aligned UTC windows of at most N days, from a start to now."""

from __future__ import annotations

import datetime as dt

from unimeter.connectors.source import Window

DAY_MS = 86_400_000
# How far back a backfill may start: the vendor keeps about a year of history it will return
# (the first sync probes no further), so an older start only fails at the vendor.
MAX_BACKFILL_DAYS = 365


class BackfillStartError(ValueError):
    """A requested backfill start outside what the vendor can return."""


def check_backfill_start(since_ms: int, now_ms: int) -> int:
    """``since_ms`` if a backfill may start there: not before ``MAX_BACKFILL_DAYS`` days ago
    (UTC days), and not after today."""
    earliest = day_floor(now_ms) - MAX_BACKFILL_DAYS * DAY_MS
    if since_ms < earliest:
        raise BackfillStartError(
            f"a backfill starts at most {MAX_BACKFILL_DAYS} days back (the vendor returns no "
            f"older history); the earliest start now is {_day(earliest)}"
        )
    if since_ms > now_ms:
        raise BackfillStartError(f"a backfill cannot start in the future (today is {_day(now_ms)})")
    return since_ms


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date().isoformat()


def day_floor(ms: int) -> int:
    return ms // DAY_MS * DAY_MS


def plan_windows(start_ms: int, now_ms: int, max_days: int) -> list[Window]:
    """Windows covering ``[day_floor(start), now]``; each ends on the last millisecond of a
    UTC day except the last, which ends at ``now``."""
    start = day_floor(start_ms)
    windows: list[Window] = []
    while start <= now_ms:
        end = min(start + max_days * DAY_MS - 1, now_ms)
        windows.append(Window(start, end))
        start = end + 1
    return windows


def incremental_start(
    *,
    watermark_ms: int | None,
    floor_ms: int | None,
    lookback_days: int,
    since_ms: int | None,
    full: bool,
) -> int | None:
    """Where a stream's next run starts; None means it needs a floor first."""
    if since_ms is not None:
        return since_ms
    if full or watermark_ms is None:
        return floor_ms
    start = day_floor(watermark_ms) - lookback_days * DAY_MS
    return start if floor_ms is None else max(start, day_floor(floor_ms))
