"""Adoption scorecards per team against a computation from the simulator's daily rows and
events, for the period and the one before it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.support.api import api_world
from unimeter.connectors.cursor.simulator import Quirks
from unimeter.connectors.cursor.simulator.truth import TeamTruth

FIELDS = {
    "tabs_shown": "totalTabsShown", "tabs_accepted": "totalTabsAccepted",
    "applies": "totalApplies", "accepts": "totalAccepts", "agent": "agentRequests",
    "chat": "chatRequests", "composer": "composerRequests", "cmdk": "cmdkUsages",
}  # fmt: skip


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def expected(
    truth: TeamTruth, teams: dict[str, str], start: dt.date, end: dt.date
) -> dict[str | None, dict[str, Any]]:
    start_ms = (start - dt.date(1970, 1, 1)).days * 86_400_000
    people = [m for m in truth.members() if m.removed_ms is None or m.removed_ms >= start_ms]
    active: dict[str, set[dt.date]] = {m.email: set() for m in people}
    sums: dict[str, dict[str, int]] = {m.email: dict.fromkeys(FIELDS, 0) for m in people}
    for row in truth.daily_usage():
        day = dt.date.fromisoformat(row["day"])
        if row["email"] in active and start <= day < end:
            if row["isActive"]:
                active[row["email"]].add(day)
            for ours, theirs in FIELDS.items():
                sums[row["email"]][ours] += row.get(theirs) or 0
    for event in truth.events():
        day = _day(event.timestamp_ms)
        if event.email in active and start <= day < end:
            active[event.email].add(day)
    days = [start + dt.timedelta(days=n) for n in range((end - start).days)]
    out: dict[str | None, dict[str, Any]] = {}
    for team in sorted(set(teams.values())):
        who = [m.email for m in people if teams.get(m.email) == team]
        total = {f: sum(sums[e][f] for e in who) for f in FIELDS}
        features = sum(total[f] for f in ("agent", "chat", "composer", "cmdk"))
        share = {e: len(active[e]) / len(days) for e in who}
        out[team] = {
            "members": len(who),
            "dau": round(sum(sum(1 for e in who if d in active[e]) for d in days) / len(days), 2),
            "wau": sum(1 for e in who if active[e] & set(days[-7:])),
            "mau": sum(1 for e in who if active[e]),
            "active_ratio": ratio(sum(1 for e in who if active[e]), len(who)),
            "tab_acceptance": ratio(total["tabs_accepted"], total["tabs_shown"]),
            "edit_acceptance": ratio(total["accepts"], total["applies"]),
            "feature_shares": {
                f: ratio(total[f], features) for f in ("agent", "chat", "composer", "cmdk")
            },
            "cohorts": {
                "none": sum(1 for e in who if not active[e]),
                "light": sum(1 for e in who if 0 < share[e] < 0.2),
                "moderate": sum(1 for e in who if 0.2 <= share[e] < 0.5),
                "heavy": sum(1 for e in who if share[e] >= 0.5),
            },
        }
    return out


async def test_scorecards_per_team_and_change(database_url: str, data_dir: Path) -> None:
    quiet = {"quirks": Quirks(removed_user_email=False)}
    async with api_world(database_url, data_dir, sim_options=quiet) as api:
        truth = api.sim.truth(api.sim.keys[0])
        teams = {
            m.email: ("Apps", "Data")[n % 2]
            for n, m in enumerate(sorted(truth.members(), key=lambda m: m.email))
        }
        csv = "email,name,team,cost_center,status\n" + "".join(
            f"{email},,{team},,active\n" for email, team in teams.items()
        )
        put = await api.client.put("/directory", params={"integrated_account_id": api.accounts["default"]},
                                   content=csv, headers={**api.auth(), "content-type": "text/csv"})  # fmt: skip
        assert put.status_code == 200, put.text
        response = await api.get(
            "/analytics/adoption", integrated_account_id=api.accounts["default"]
        )
    assert response.status_code == 200, response.text
    body = response.json()
    end = _day(truth.now_ms)
    start = end - dt.timedelta(days=30)
    assert (body["start_date"], body["end_date"]) == (start.isoformat(), end.isoformat())
    now = expected(truth, teams, start, end)
    before = expected(truth, teams, start - dt.timedelta(days=30), start)
    got = {row["team"]: row for row in body["result"]}
    assert set(got) == {"Apps", "Data"}
    for team, row in got.items():
        current = {k: v for k, v in row.items() if k not in ("team", "previous", "change")}
        assert current == now[team]
        assert row["previous"] == before[team]
        assert row["change"]["mau"] == now[team]["mau"] - before[team]["mau"]
        assert 0 < row["tab_acceptance"] < 1, "acceptance is accepted / shown, never ~100%"
    assert body["all"]["members"] == sum(now[t]["members"] for t in now)
