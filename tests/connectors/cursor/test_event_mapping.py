"""Usage events mapped straight from JSON agree with the pydantic model's mapping."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from unimeter.connectors.cursor.errors import CursorSchemaError
from unimeter.connectors.cursor.event_mapping import EventIdentities, usage_event_records
from unimeter.connectors.cursor.simulator import SimulatedCursor
from unimeter.connectors.records import UsageEventRecord

from .conftest import DAY_MS, NOW_MS, make_sim, sim_client


async def _page(sim: SimulatedCursor) -> list[dict[str, Any]]:
    async with sim_client(sim) as client:
        page = await client.usage_events_page(NOW_MS - 5 * DAY_MS, NOW_MS, page_size=1000)
    events: list[dict[str, Any]] = page.usage_events
    return events


def _fields(records: list[UsageEventRecord]) -> list[dict[str, Any]]:
    return [{**dataclasses.asdict(r), "raw": None} for r in records]


async def test_odd_but_valid_events_map_like_plain_ones() -> None:
    """Numbers where Cursor sends strings, snake_case names, whole floats for counts: the
    model's path coerces them, and the records and fingerprints are the same."""
    events = await _page(make_sim(users=20))
    assert len(events) > 100
    assert any(e.get("tokenUsage") for e in events) and any(e.get("cloudAgentId") for e in events)
    odd = []
    for e in events:
        copy = dict(e, timestamp=int(e["timestamp"]))
        if "userEmail" in copy:
            copy["user_email"] = copy.pop("userEmail")
        if copy.get("tokenUsage"):
            copy["tokenUsage"] = dict(
                copy["tokenUsage"], inputTokens=float(e["tokenUsage"]["inputTokens"])
            )
        odd.append(copy)
    plain = usage_event_records(events, EventIdentities())
    coerced = usage_event_records(odd, EventIdentities())
    assert _fields(plain) == _fields(coerced)
    assert len({r.fingerprint for r in plain}) == len(plain)
    assert plain[0].raw is events[0]


async def test_twins_get_distinct_fingerprints_in_either_path() -> None:
    events = await _page(make_sim(users=5))
    twin = events[0]
    for batch in ([twin, dict(twin)], [twin, dict(twin, timestamp=int(twin["timestamp"]))]):
        first, second = usage_event_records(batch, EventIdentities())
        assert first.fingerprint != second.fingerprint


@pytest.mark.parametrize(
    ("event", "where"),
    [
        ({"model": "gpt-5"}, "timestamp"),
        ({"timestamp": "1", "tokenUsage": {"inputTokens": "many"}}, "tokenUsage.inputTokens"),
        ({"timestamp": "1", "maxMode": None}, "maxMode"),
        ("not an event", "body"),
    ],
)
def test_a_malformed_event_is_a_readable_schema_error(event: Any, where: str) -> None:
    with pytest.raises(CursorSchemaError) as caught:
        usage_event_records([event], EventIdentities())
    message = str(caught.value)
    assert "/teams/filtered-usage-events" in message
    assert where in message
