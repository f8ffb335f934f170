"""Bulk streams: pages joined into write units in order, errors and early exits clean."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from unimeter.sync.engine.batching import coalesced, write_units


async def _pages(
    count: int, size: int, events: list[str], fail_after: int | None = None
) -> AsyncIterator[list[int]]:
    try:
        for page in range(count):
            if fail_after is not None and page == fail_after:
                raise RuntimeError("the vendor went away")
            await asyncio.sleep(0)
            events.append("page")
            yield list(range(page * size, (page + 1) * size))
    finally:
        events.append("closed")


async def _drain(
    units: AsyncIterator[list[int]], hold: asyncio.Event | None = None
) -> list[list[int]]:
    out = []
    async for unit in units:
        if hold is not None:
            await hold.wait()  # a slow store: the reader runs ahead meanwhile
        out.append(unit)
    return out


async def test_units_keep_every_row_in_order_and_respect_the_cap() -> None:
    events: list[str] = []
    hold = asyncio.Event()
    drained = asyncio.ensure_future(
        _drain(coalesced(_pages(30, 10, events), max_rows=45, ahead=8), hold)
    )
    # Let the loop run (no timing involved) until the reader has read ahead of the writer.
    for _ in range(10_000):
        if events.count("page") >= 9:
            break
        await asyncio.sleep(0)
    hold.set()
    units = await drained
    assert [row for unit in units for row in unit] == list(range(300))
    assert all(len(unit) <= 50 for unit in units)  # a unit stops at the first page past 45
    assert any(len(unit) > 10 for unit in units), "pages read ahead were written together"
    assert events[-1] == "closed"


async def test_a_failing_source_raises_after_the_rows_before_it() -> None:
    events: list[str] = []
    seen: list[int] = []

    async def write_all() -> None:
        async for unit in coalesced(_pages(10, 5, events, fail_after=4)):
            seen.extend(unit)

    with pytest.raises(RuntimeError, match="went away"):
        await write_all()
    assert seen == list(range(20))
    assert events[-1] == "closed"


async def test_leaving_early_stops_the_reader_and_closes_the_source() -> None:
    events: list[str] = []
    async with write_units(_pages(1000, 5, events), bulk=True) as units:
        async for _ in units:
            break
    assert events[-1] == "closed"
    assert events.count("page") < 1000


async def test_a_stream_that_is_not_bulk_gets_its_batches_one_by_one() -> None:
    events: list[str] = []
    async with write_units(_pages(5, 3, events), bulk=False) as units:
        assert [len(unit) async for unit in units] == [3] * 5
    assert events[-1] == "closed"
