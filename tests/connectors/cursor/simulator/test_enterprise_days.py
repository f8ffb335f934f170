"""``enterprise_days`` and ``agent_days``: a team that turned on code tracking recently and
deletes old cloud agents serves the same data as one that did not, for the recent days only."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import NOW_MS, make_sim

DAY = 86_400_000


def _ms(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_only_the_last_days_hold_enterprise_data() -> None:
    full = make_sim(users=12, days=20).truth()
    recent = make_sim(users=12, days=20, enterprise_days=4, agent_days=2).truth()
    code_from = (NOW_MS // DAY - 4) * DAY
    agents_from = (NOW_MS // DAY - 2) * DAY
    start = full.history_start_ms

    commits = full.commits(start, NOW_MS)
    assert any(_ms(c["commitTs"]) < code_from for c in commits), "the full team has older ones"
    kept = [c for c in commits if _ms(c["commitTs"]) >= code_from]
    assert kept and recent.commits(start, NOW_MS) == kept
    changes = full.changes(start, NOW_MS)
    assert recent.changes(start, NOW_MS) == [c for c in changes if _ms(c["createdAt"]) >= code_from]

    agents = full.agents()
    listed = recent.agents()
    assert listed and len(listed) < len(agents)
    assert [a["id"] for a in listed] == [
        a["id"] for a in agents if _ms(a["createdAt"]) >= agents_from - 60_000
    ]

    first_day = dt.datetime.fromtimestamp(start / 1000, tz=dt.UTC).date().isoformat()
    today = dt.datetime.fromtimestamp(NOW_MS / 1000, tz=dt.UTC).date().isoformat()
    served = {row["date"] for row in recent.analytics("dau", first_day, today)["data"]}
    assert (
        served
        and min(served) == dt.datetime.fromtimestamp(code_from / 1000, tz=dt.UTC).date().isoformat()
    )
    # Usage events, the source of everything above, are not cut.
    assert full.events(start) == recent.events(start)


@pytest.mark.parametrize("days", [0, -3])
def test_days_below_one_are_refused(days: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_sim(enterprise_days=days)
