"""Calendar buckets in SQL: a day mapped to the first day of its week or month.

Weeks start on Monday (ISO 8601); ``total`` puts every day in one bucket dated ``start``.
This is the one place the two backends need different SQL for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, Integer, String, cast, func, literal, type_coerce


def period_expression(dialect: str, day: Any, granularity: str, start: dt.date) -> Any:
    if granularity == "day":
        return day
    if granularity == "total":
        return literal(start, Date)
    if dialect == "postgresql":
        return cast(func.date_trunc(granularity, day), Date)
    if granularity == "month":
        return type_coerce(func.date(day, "start of month"), Date)
    # SQLite: back up to Monday; strftime('%w') is 0 for Sunday.
    offset = "-" + cast((cast(func.strftime("%w", day), Integer) + 6) % 7, String) + " days"
    return type_coerce(func.date(day, offset), Date)
