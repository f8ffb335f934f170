"""The simulator's notion of "now".

With an explicit ``now`` the clock is frozen (answers are identical run to run) and only
moves when a test advances it. Without one it follows the wall clock.
"""

from __future__ import annotations

import threading
import time

HOUR_MS = 3_600_000


class SimClock:
    def __init__(self, frozen_at_ms: int | None) -> None:
        self._lock = threading.Lock()
        self._frozen_at_ms = frozen_at_ms
        self._offset_ms = 0
        # The moment the data is anchored to: history is the ``days`` days before it.
        self.start_ms = frozen_at_ms if frozen_at_ms is not None else _wall_ms()

    def now_ms(self) -> int:
        with self._lock:
            base = self._frozen_at_ms if self._frozen_at_ms is not None else _wall_ms()
            return base + self._offset_ms

    def advance(self, *, hours: float = 0, ms: int = 0) -> int:
        """Move simulated time forward; returns the new ``now``."""
        delta = ms + int(hours * HOUR_MS)
        if delta < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset_ms += delta
        return self.now_ms()


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000
