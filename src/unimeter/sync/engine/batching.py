"""Writing a bulk stream's pages together: reading runs ahead while the store writes.

A vendor pages its listings (often 1,000 records a page). One transaction per page
costs a commit per page, and SQLite's WAL appends every touched index page again at each
commit, which made commits a third of a backfill's store time. Here the pages are read in
their own task, a few ahead, and whatever arrived while the previous unit was written goes
into the next one (up to ``MAX_ROWS``): reading and writing overlap, and a slower store
gets larger, cheaper transactions instead of a longer queue.

Nothing about crash safety changes: the engine moves a window's watermark only after the
whole window is committed, so a crash loses at most the unit in flight, which the next run
reads again; the store's compare-then-write makes that rewrite exact.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")

MAX_ROWS = 20_000
# Pages read ahead of the writer at most: memory stays flat however slow the store.
AHEAD = 8


@contextlib.asynccontextmanager
async def write_units(
    batches: AsyncIterator[list[T]], *, bulk: bool
) -> AsyncIterator[AsyncIterator[list[T]]]:
    """The units to write: a bulk stream's batches coalesced, any other's one by one; closed
    on the way out (a failed write must not leave a page downloading)."""
    units = coalesced(batches) if bulk else batches
    try:
        yield units
    finally:
        await _close(units)


async def _close(iterator: AsyncIterator[object]) -> None:
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


class _End:
    """The reader is done: with ``error`` set, it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


async def coalesced(
    batches: AsyncIterator[list[T]], *, max_rows: int = MAX_ROWS, ahead: int = AHEAD
) -> AsyncIterator[list[T]]:
    """The batches of ``batches`` in order, those already read joined up to ``max_rows``."""
    queue: asyncio.Queue[list[T] | _End] = asyncio.Queue(ahead)

    async def read() -> None:
        try:
            async for batch in batches:
                await queue.put(batch)
        except Exception as exc:  # handed to the writer, which raises it as itself
            await queue.put(_End(exc))
        else:
            await queue.put(_End())
        finally:
            # Cancelled between two pages: the source's own clean-up (a page it was
            # downloading ahead) runs now rather than whenever the generator is collected.
            await _close(batches)

    reader = asyncio.ensure_future(read())
    end: _End | None = None
    try:
        while end is None:
            item = await queue.get()
            if isinstance(item, _End):
                end = item
                break
            unit = list(item)
            while len(unit) < max_rows and not queue.empty():
                following = queue.get_nowait()
                if isinstance(following, _End):
                    end = following
                    break
                unit.extend(following)
            yield unit
        if end.error is not None:
            raise end.error
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
