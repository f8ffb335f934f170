"""One simulated organization: its roster, its days of activity (generated on demand and
cached), its cost revisions and planted spikes."""

from __future__ import annotations

import threading
from fractions import Fraction

from .activity import DayActivity, Tokens, UsageKey, generate_day, hour_split
from .clock import SimClock
from .config import DAY_MS, HOUR_MS, AnthropicSimConfig
from .ids import day_of, stable_int
from .roster import Roster, build_roster

HourTable = list[dict[UsageKey, Tokens]]


class SimOrg:
    def __init__(self, key: str, index: int, config: AnthropicSimConfig, clock: SimClock) -> None:
        self.key = key
        self.index = index
        self.config = config
        self.clock = clock
        self.salt = f"org{index}"
        self.seed = config.seed
        # History is anchored on the moment the simulator starts (its frozen or wall "now").
        self.history_start_day = day_of(clock.start_ms) - config.days
        people = config.people if index == 0 else ()
        users = config.users if index == 0 else max(3, config.users // 4)
        self.roster: Roster = build_roster(
            seed=config.seed,
            salt=self.salt,
            history_start_ms=self.history_start_day * DAY_MS,
            anchor_ms=clock.start_ms,
            users=users,
            people=people,
            workspaces=config.workspaces,
            api_keys=config.api_keys,
        )
        self._lock = threading.Lock()
        self._days: dict[int, DayActivity] = {}
        self._hours: dict[int, HourTable] = {}
        self._revisions: dict[int, int] = {}
        self._spikes: dict[int, dict[int, int]] = {}

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def day(self, day: int) -> DayActivity:
        """The activity of ``day`` (empty before the history starts)."""
        with self._lock:
            cached = self._days.get(day)
        if cached is not None:
            return cached
        if day < self.history_start_day:
            activity = DayActivity(day)
        else:
            activity = generate_day(
                self.roster,
                seed=self.seed,
                salt=self.salt,
                day=day,
                extra_tools=self.config.quirks.extra_fields,
                spikes=self._spikes.get(day, {}),
            )
        with self._lock:
            return self._days.setdefault(day, activity)

    def hours(self, day: int) -> HourTable:
        """The day's Messages usage split by UTC hour (the hourly sums equal the day)."""
        with self._lock:
            cached = self._hours.get(day)
        if cached is not None:
            return cached
        table: HourTable = [{} for _ in range(24)]
        for key, tokens in self.day(day).usage.items():
            for hour, part in hour_split(key, tokens, day):
                table[hour].setdefault(key, Tokens()).add(part)
        with self._lock:
            return self._hours.setdefault(day, table)

    def visible_usage(self, start_ms: int, end_ms: int, now_ms: int) -> dict[UsageKey, Tokens]:
        """Usage of ``[start, end)`` as the API shows it at ``now``: an hour's usage appears
        once the hour is over (so the current day grows hour by hour)."""
        out: dict[UsageKey, Tokens] = {}
        for day in range(max(start_ms // DAY_MS, self.history_start_day), end_ms // DAY_MS + 1):
            d0 = day * DAY_MS
            if d0 >= end_ms or d0 > now_ms:
                break
            if start_ms <= d0 and d0 + DAY_MS <= min(end_ms, now_ms):
                parts = [self.day(day).usage]
            else:
                parts = [
                    table
                    for hour, table in enumerate(self.hours(day))
                    if start_ms <= d0 + hour * HOUR_MS < end_ms
                    and d0 + (hour + 1) * HOUR_MS <= now_ms
                ]
            for part in parts:
                for key, tokens in part.items():
                    out.setdefault(key, Tokens()).add(tokens)
        return out

    def revise(self, now_ms: int) -> list[int]:
        """Revise the costs of the last ``revision_days`` complete days; returns the days."""
        last_complete = now_ms // DAY_MS - 1
        days = [
            d
            for d in range(last_complete - self.config.revision_days + 1, last_complete + 1)
            if d >= self.history_start_day
        ]
        with self._lock:
            for d in days:
                self._revisions[d] = self._revisions.get(d, 0) + 1
        return days

    def revision_factor(self, day: int) -> Fraction:
        """What the costs of ``day`` are multiplied by after its revisions (1 before any)."""
        with self._lock:
            count = self._revisions.get(day, 0)
        if count == 0:
            return Fraction(1)
        # Each revision moves the day further from the original, so a revision always shows.
        wobble = stable_int(self.seed, self.salt, "revision", day) % 30
        sign = 1 if stable_int(self.seed, self.salt, "sign", day) % 2 else -1
        return Fraction(10_000 + sign * (37 * count + wobble), 10_000)

    def plant_spike(self, user_index: int, day: int, factor: int) -> None:
        """Multiply a user's usage on ``day`` by ``factor`` (for the demo's anomalies)."""
        with self._lock:
            self._spikes.setdefault(day, {})[user_index] = factor
            self._days.pop(day, None)
            self._hours.pop(day, None)
