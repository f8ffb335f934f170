"""Cursor's per-team, per-endpoint-group rate limits: fixed windows of one (scaled) minute."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

# Requests per minute per team, by endpoint group (Cursor docs, mid-2026).
LIMITS: dict[str, int] = {
    "admin": 20,
    "usage_events": 60,
    "user_spend_limit": 250,
    "remove_member": 50,
    "analytics": 100,
    "analytics_by_user": 50,
    "analytics_insights": 20,
    # AI Code Tracking: 20 per minute for each endpoint.
    "ai_code_commits": 20,
    "ai_code_commits.csv": 20,
    "ai_code_changes": 20,
    "ai_code_changes.csv": 20,
    # Cloud Agents document only "standard rate limiting"; a generous stand-in.
    "cloud_agents": 300,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    def __init__(self, *, enabled: bool, minute_seconds: float) -> None:
        self.enabled = enabled
        self.minute_seconds = minute_seconds
        self._origin = time.monotonic()
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    def hit(self, team_key: str, group: str) -> Verdict:
        if not self.enabled:
            return Verdict(True)
        elapsed = time.monotonic() - self._origin
        window = int(elapsed // self.minute_seconds)
        with self._lock:
            current, count = self._windows.get((team_key, group), (window, 0))
            if current != window:
                count = 0
            if count >= LIMITS[group]:
                remaining = (window + 1) * self.minute_seconds - elapsed
                return Verdict(False, max(1, math.ceil(remaining)))
            self._windows[(team_key, group)] = (window, count + 1)
        return Verdict(True)
