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


# Events whose fingerprints stores already hold: these digests were computed by the mapping
# that wrote them. A change here would make every stored event look new (duplicates).
_TWIN: dict[str, Any] = {
    "timestamp": "1764547200123", "userEmail": "Ada@Example.com", "model": "claude-4-sonnet",
    "kind": "Included in Business", "maxMode": True, "requestsCosts": 2,
    "isTokenBasedCall": True, "isChargeable": False, "isHeadless": False,
    "tokenUsage": {"inputTokens": 1200, "outputTokens": 340, "cacheWriteTokens": 0,
                   "cacheReadTokens": 9000, "totalCents": 1.234567},
    "chargedCents": 0, "conversationId": "conv-1",
}  # fmt: skip
_AGENT: dict[str, Any] = {
    "timestamp": "1764540000000", "model": "gpt-5", "kind": "Usage-based",
    "isChargeable": True, "isHeadless": True, "cloudAgentId": "bc-9",
    "serviceAccountId": "sa-1", "automationId": "auto-2", "chargedCents": 12.5,
    "cursorTokenFee": 0.25,
}  # fmt: skip
_STORED_FINGERPRINTS = [
    "909dae60ca6dd04317d841fef3d66030",
    "ad871721e0a0778e804447b3fcad2216",
    "a55ada24cfed825fa3009fa878ac38cc",
]


def test_fingerprints_are_those_existing_stores_hold() -> None:
    events = [_TWIN, dict(_TWIN), _AGENT]
    for batch in (events, [dict(e, timestamp=int(e["timestamp"])) for e in events]):
        records = usage_event_records(batch, EventIdentities())
        assert [r.fingerprint for r in records] == _STORED_FINGERPRINTS
    first, _, agent = usage_event_records(events, EventIdentities())
    assert (first.email, first.charge_type, first.surface) == ("ada@example.com", "included", "ide")
    assert (first.token_cents_e6, agent.token_cents_e6, agent.charged_cents_e6) == (
        1_234_567,
        None,
        12_500_000,
    )
    assert (agent.charge_type, agent.surface, agent.token_fee_cents_e6) == (
        "usage_based",
        "cloud_agent",
        250_000,
    )
