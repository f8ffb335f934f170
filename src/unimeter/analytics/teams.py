"""Effective-dated team mapping: who belonged to which team and cost center on a given day.

Two sources: an uploaded directory (teams and cost centers, validity in days) or the
vendor's billing groups (teams only, membership stints in epoch ms). A day belongs to the
latest-starting assignment in force for any part of that day, so a person who moves teams
mid-day is charged to the new team for that whole day, and one who leaves a team for no
team is charged to the team they left for their last day in it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Source = Literal["directory", "billing_groups"]


@dataclass(frozen=True, slots=True)
class Assignment:
    email: str
    team: str | None
    cost_center: str | None
    first_day: dt.date
    last_day: dt.date | None  # inclusive; None while it lasts
    # Orders assignments that share a day: the later one wins.
    starts_at: int
    status: str = "active"

    def covers(self, day: dt.date) -> bool:
        return self.first_day <= day and (self.last_day is None or day <= self.last_day)


def day_of(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


class TeamMap:
    """Assignments per email, answering "which one was in force on this day"."""

    def __init__(
        self,
        source: Source,
        assignments: Iterable[Assignment],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        # A person's other emails (directory aliases) -> their primary email, lower case.
        self.aliases = dict(aliases or {})
        self._by_email: dict[str, list[Assignment]] = {}
        for a in assignments:
            self._by_email.setdefault(a.email.lower(), []).append(a)
        self._starts: dict[str, list[dt.date]] = {}
        for email, rows in self._by_email.items():
            rows.sort(key=lambda a: (a.first_day, a.starts_at))
            self._starts[email] = [a.first_day for a in rows]

    def __bool__(self) -> bool:
        return bool(self._by_email)

    def resolve(self, email: str) -> str:
        """The primary email of the person behind ``email`` (lower case)."""
        email = email.lower()
        return self.aliases.get(email, email)

    def at(self, email: str, day: dt.date) -> Assignment | None:
        email = self.resolve(email)
        rows = self._by_email.get(email)
        if not rows:
            return None
        # The latest-starting assignment that began on or before the day and still covers it.
        i = bisect.bisect_right(self._starts[email], day)
        for a in reversed(rows[:i]):
            if a.covers(day):
                return a
        return None

    def steady(self, email: str, first: dt.date, end: dt.date) -> bool:
        """Whether ``at`` answers the same on every day of ``[first, end)``: no assignment
        of this email starts, or ends, between two of those days."""
        for a in self._by_email.get(self.resolve(email), ()):
            if first < a.first_day < end:
                return False
            if a.last_day is not None and first <= a.last_day < end - dt.timedelta(days=1):
                return False
        return True

    def assignments(self) -> list[Assignment]:
        return [a for rows in self._by_email.values() for a in rows]
