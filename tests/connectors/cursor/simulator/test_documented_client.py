"""A client written against the real API pages through every endpoint of the simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support.live import serve
from unimeter.connectors.cursor.simulator import create_app

from .conftest import NOW_MS, make_sim
from .documented_client import DAY_MS, DocumentedCursorClient


def _canonical(payload: dict[str, object]) -> str:
    return json.dumps(payload, sort_keys=True)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def test_documented_client_pages_through_everything_over_http() -> None:
    sim = make_sim(users=25, days=45)
    truth = sim.truth()
    with serve(create_app(sim)) as base_url:
        client = DocumentedCursorClient(sim.keys[0], base_url=base_url)
        try:
            members = client.members()
            assert len(members) == len(truth.members())

            end = NOW_MS // DAY_MS * DAY_MS - 1  # end of yesterday, inclusive
            windows = [(end + 1 - 30 * DAY_MS, end), (end + 1, NOW_MS)]
            events = [e for start, stop in windows for e in client.usage_events(start, stop)]
            expected = truth.events(windows[0][0], NOW_MS)
            assert len(events) == len(expected)
            # Each window is newest first; the truth is newest first over the whole range.
            assert sorted(map(_canonical, events)) == sorted(
                _canonical(e.payload) for e in expected
            )

            rows = [
                r for start, stop in windows for r in client.daily_usage(start, stop, page_size=7)
            ]
            assert len(rows) == len(truth.daily_usage(windows[0][0], NOW_MS))

            spend = list(client.spend(page_size=6))
            assert len(spend) == len(truth.spend()["teamMemberSpend"])
            assert len({r["userId"] for r in spend}) == len(spend)

            audit = list(client.audit_logs(_iso(NOW_MS - 30 * DAY_MS), _iso(NOW_MS), page_size=50))
            assert len({e["event_id"] for e in audit}) == len(audit) > 0

            groups = client.groups()
            for g in groups["groups"]:
                assert client.group(g["id"])["spendCents"] == g["spendCents"]
            assert client.group("group_unassigned")["name"] == "Unassigned"
        finally:
            client.close()
