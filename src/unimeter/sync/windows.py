"""Day-aligned UTC windows of at most N days, from a start to now."""

from __future__ import annotations

from .source import Window

DAY_MS = 86_400_000


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
