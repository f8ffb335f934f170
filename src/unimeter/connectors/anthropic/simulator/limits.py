"""A per-organization request limit: fixed windows of one (scaled) minute.

Anthropic publishes no number for the Admin API; 60 a minute per organization is the
figure of its analytics API and the default here."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    def __init__(self, *, per_minute: int | None, minute_seconds: float) -> None:
        self.per_minute = per_minute
        self.minute_seconds = minute_seconds
        self._origin = time.monotonic()
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def hit(self, org_key: str) -> Verdict:
        if self.per_minute is None:
            return Verdict(True)
        elapsed = time.monotonic() - self._origin
        window = int(elapsed // self.minute_seconds)
        with self._lock:
            current, count = self._windows.get(org_key, (window, 0))
            if current != window:
                count = 0
            if count >= self.per_minute:
                # The rest of the window, in (already scaled) seconds: whole, at least 1.
                remaining = (window + 1) * self.minute_seconds - elapsed
                return Verdict(False, max(1, math.ceil(remaining)))
            self._windows[org_key] = (window, count + 1)
        return Verdict(True)
