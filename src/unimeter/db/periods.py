"""Calendar days in SQL: a day mapped to the first day of its week or month, and the days
of a group as one list.

Weeks start on Monday (ISO 8601); ``total`` puts every day in one bucket dated ``start``.
This is the one place the two backends need different SQL for these.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Integer, String, case, cast, func, literal, literal_column, type_coerce


def period_expression(dialect: str, day: Any, granularity: str, start: dt.date) -> Any:
    if granularity == "day":
        return day
    if granularity == "total":
        return literal(start, Date)
    if dialect == "postgresql":
        return cast(func.date_trunc(granularity, day), Date)
    # SQLite. Constants are inlined, not bound: with bound ones the same bucket in GROUP BY
    # and ORDER BY are two expressions to SQLite, and the groups get sorted a second time.
    if granularity == "month":
        return type_coerce(func.date(day, _sql("'start of month'")), Date)
    # Back up to Monday; strftime('%w') is 0 for Sunday.
    weekday = cast(func.strftime(_sql("'%w'"), day), Integer)
    offset = _sql("'-'") + cast((weekday + _sql("6")) % _sql("7"), String) + _sql("' days'")
    return type_coerce(func.date(day, offset), Date)


def bucket_start(day: dt.date, granularity: str) -> dt.date:
    """The first day of a day's period (a day, a Monday's week, a month), as
    ``period_expression`` says; ``total`` is not a calendar period."""
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _next_bucket(start: dt.date, granularity: str) -> dt.date:
    if granularity == "week":
        return start + dt.timedelta(days=7)
    if granularity == "month":
        return (start + dt.timedelta(days=32)).replace(day=1)
    return start + dt.timedelta(days=1)


def period_spans(start: dt.date, end: dt.date, granularity: str) -> list[tuple[dt.date, dt.date]]:
    """``[start, end)`` cut at the period boundaries of ``granularity`` (day, week or month):
    the part of each period inside the range, in order; ``total`` is one span."""
    if granularity == "total":
        return [(start, end)] if start < end else []
    spans = []
    low = start
    while low < end:
        high = min(_next_bucket(bucket_start(low, granularity), granularity), end)
        spans.append((low, high))
        low = high
    return spans


def _sql(constant: str) -> Any:
    return literal_column(constant)


def day_list(dialect: str, day: Any, when: Any = None) -> Any:
    """An aggregate: the group's days (only those where ``when`` holds) as ISO dates joined
    by commas, or NULL. Thousands of days come back in a few strings instead of one row
    each, which is what costs in Python."""
    text = cast(day, String) if dialect == "postgresql" else day
    if when is not None:
        text = case((when, text))
    if dialect == "postgresql":
        return func.string_agg(text, ",")
    return func.group_concat(text, ",")


# ISO day -> date: the lists of a team's people repeat the same few hundred days, and a
# lookup costs a third of parsing one (adoption read ~300,000 days a request).
_day = lru_cache(maxsize=65_536)(dt.date.fromisoformat)


def parse_day_list(text: str | None) -> set[dt.date]:
    return {_day(day) for day in text.split(",")} if text else set()
