"""The loop an outbox dispatcher runs: work while there is work, else wait for a wake-up
or the next poll."""

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
