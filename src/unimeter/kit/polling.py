"""An outbox dispatcher's loop (work while there is work, else wait for a wake-up or the
next poll) and its retry schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


async def drain_forever(
    once: Callable[[], Awaitable[int]],
    wake: asyncio.Event,
    poll_seconds: float,
    log: logging.Logger,
    what: str,
) -> None:
    """Call ``once`` (it returns how many items it handled) again at once while it finds
    work; otherwise until ``wake`` is set or ``poll_seconds`` pass. An error is logged and
    waited out: a database hiccup must not end delivery for good."""
    while True:
        try:
            handled = await once()
        except Exception:
            log.exception("%s failed; retrying", what)
            handled = 0
        if handled:
            continue
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll_seconds)


def retry_delay_ms(attempts: int, base_seconds: float, max_seconds: float) -> int:
    """Milliseconds before the next try after ``attempts`` failed ones: ``base_seconds``
    times 4 per failure, at most ``max_seconds``."""
    return int(min(base_seconds * 4 ** (attempts - 1), max_seconds) * 1000)
