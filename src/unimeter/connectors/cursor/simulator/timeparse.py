"""Parsing of the audit-log ``startTime`` / ``endTime`` formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .config import DAY_MS

_RELATIVE = re.compile(r"(\d+)\s*([dhms])")
_UNIT_MS = {"d": DAY_MS, "h": 3_600_000, "m": 60_000, "s": 1000}
# Unix timestamps below this are seconds, above it milliseconds (year 5138 in seconds).
_SECONDS_CEILING = 100_000_000_000


def parse_time(value: str | int | float, now_ms: int) -> int:
    """Epoch ms for ``now``, ``today``, ``yesterday``, ``7d``/``5h``/``300s``, ISO-8601,
    ``YYYY-MM-DD`` (00:00 UTC), or unix seconds / milliseconds. Raises ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        return _unix(int(value))
    text = value.strip().lower()
    today = now_ms // DAY_MS * DAY_MS
    if text == "now":
        return now_ms
    if text == "today":
        return today
    if text == "yesterday":
        return today - DAY_MS
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return now_ms - int(relative.group(1)) * _UNIT_MS[relative.group(2)]
    if re.fullmatch(r"-?\d+", text):
        return _unix(int(text))
    return _iso(value.strip())


def _unix(number: int) -> int:
    if number < 0:
        raise ValueError("negative timestamp")
    return number * 1000 if number < _SECONDS_CEILING else number


def _iso(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"unrecognised time {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)
