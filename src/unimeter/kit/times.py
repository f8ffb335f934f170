"""Times as the API shows them: epoch milliseconds rendered as RFC 3339 UTC with a ``Z``.

Also the days any input may name. Every date, time, month or epoch millisecond that comes
in from a caller is checked against them before it reaches arithmetic: ``date.max`` plus a
window or ``date.min`` minus a baseline would raise ``OverflowError`` deep inside a query.
"""

from __future__ import annotations

import datetime as dt

# Wide enough for any real usage history and any forward-looking range, and far enough from
# what ``datetime`` can hold that windows, months and baselines around them never overflow.
MIN_DAY = dt.date(2000, 1, 1)
MAX_DAY = dt.date(2100, 12, 31)
DAY_BOUNDS = f"{MIN_DAY.isoformat()} to {MAX_DAY.isoformat()}"
MIN_MS = int(dt.datetime(MIN_DAY.year, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
MAX_MS = int(dt.datetime(MAX_DAY.year + 1, 1, 1, tzinfo=dt.UTC).timestamp() * 1000) - 1


class OutOfRangeError(ValueError):
    """A date or time outside ``MIN_DAY`` .. ``MAX_DAY``."""


def check_day(day: dt.date) -> dt.date:
    """``day`` (a date, or a datetime by its own calendar day) if it lies within the bounds.
    A datetime is judged before any time-zone conversion, which could itself overflow."""
    value = day.date() if isinstance(day, dt.datetime) else day
    if not MIN_DAY <= value <= MAX_DAY:
        raise OutOfRangeError(f"must be a day from {DAY_BOUNDS} (UTC)")
    return day


def check_ms(ms: int) -> int:
    """Epoch milliseconds within the bounds."""
    if not MIN_MS <= ms <= MAX_MS:
        raise OutOfRangeError(f"must be a day from {DAY_BOUNDS} (UTC)")
    return ms


_EPOCH = dt.datetime(1970, 1, 1)


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    # Naive UTC plus exact integer milliseconds: the same text as a UTC ``fromtimestamp``
    # with its offset replaced, without the float or the replace (a users page makes 300).
    return (_EPOCH + dt.timedelta(milliseconds=ms)).isoformat() + "Z"
