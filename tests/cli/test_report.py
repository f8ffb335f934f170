"""``unimeter report`` as a user runs it, on a store a sync filled."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

from tests.analytics.test_seats import expected_seats
from tests.support.api import KEYS, api_world
from tests.support.cli import CLI
from tests.support.world import NOW_MS, make_sim


async def test_report_seats_and_consumption(sqlite_url: str, data_dir: Path) -> None:
    async with api_world(sqlite_url, data_dir) as api:
        truth = api.sim.truth(api.sim.keys[0])
        account = api.accounts["default"]
        as_of = dt.datetime.fromtimestamp(truth.now_ms / 1000, tz=dt.UTC).date()
        via_api = (
            await api.get("/analytics/consumption", integrated_account_id=account,
                          start_date="2020-01-01", end_date="2030-01-01", granularity="total",
                          **{"group_by[]": "model"})
        ).json()  # fmt: skip
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    day = as_of.isoformat()

    out = cli("report", "seats", "--account", account, "--as-of", day, "--idle-days", "2",
              "--format", "json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    seats = json.loads(out.stdout)
    assert {
        "provisioned",
        "active_7d",
        "active_30d",
        "utilization_30d",
        "idle",
        "never_used",
    } <= set(seats)
    want = expected_seats(truth, as_of, 2)
    assert seats["provisioned"] == want["provisioned"]
    assert seats["active_30d"] == want["active_30d"]

    listed = cli("report", "seats", "--account", account, "--as-of", day, "--idle-days", "2",
                 "--format", "csv")  # fmt: skip
    reclaim = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert sorted(r["email"] for r in reclaim if r["status"] == "idle") == [
        e for e, _ in want["idle"]
    ]
    assert sorted(r["email"] for r in reclaim if r["status"] == "never_used") == want["never_used"]

    table = cli("report", "seats", "--account", account, "--as-of", day)
    assert table.returncode == 0, table.stderr
    assert f"{want['provisioned']} seats" in table.stdout

    usage = cli("report", "consumption", "--account", account, "--start", "2020-01-01",
                "--end", "2030-01-01", "--group-by", "model", "--format", "json")  # fmt: skip
    assert usage.returncode == 0, usage.stderr
    body = json.loads(usage.stdout)
    assert body["result"] == via_api["result"]
    assert body["totals"] == via_api["totals"]


def test_report_refuses_bad_input_in_one_line(data_dir: Path, sqlite_url: str) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    cases = [
        (("report", "seats"), "give exactly one of --account and --tenant"),
        (("report", "seats", "--account", "acc_nope"), "integrated account not found"),
        (("report", "seats", "--tenant", "t", "--environment", "nope"), "no environment named"),
        (("report", "seats", "--account", "a", "--as-of", "yesterday"), "--as-of must be a date"),
        (("report", "consumption", "--account", "a", "--group-by", "team"), "--group-by takes"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode != 0, args
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_every_report_prints_what_the_api_serves(sqlite_url: str, data_dir: Path) -> None:
    reports = {
        "chargeback": ("/analytics/chargeback", {"start_date": "2020-01-01", "end_date": "2030-01-01"},
                       ["--start", "2020-01-01", "--end", "2030-01-01"]),
        "adoption": ("/analytics/adoption", {"start_date": "2026-05-16", "end_date": "2026-06-15"},
                     ["--start", "2026-05-16", "--end", "2026-06-15"]),
        "audit": ("/analytics/audit", {}, []),
        "anomalies": ("/analytics/anomalies", {}, []),
        "reconciliation": ("/analytics/reconciliation", {}, []),
    }  # fmt: skip
    async with api_world(sqlite_url, data_dir) as api:
        account = api.accounts["default"]
        truth_day = dt.datetime.fromtimestamp(
            api.sim.truth(api.sim.keys[0]).now_ms / 1000, tz=dt.UTC
        ).date()
        served = {}
        for name, (path, params, _) in reports.items():
            params = {**params, "integrated_account_id": account}
            if name == "audit":
                params["as_of"] = truth_day.isoformat()
            response = await api.get(path, **params)
            assert response.status_code == 200, response.text
            served[name] = response.json()
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    for name, (_, _, args) in reports.items():
        extra = ["--as-of", truth_day.isoformat()] if name == "audit" else []
        out = cli("report", name, "--account", account, *args, *extra, "--format", "json")
        assert out.returncode == 0, out.stderr
        printed = json.loads(out.stdout)
        key = "cycles" if name == "reconciliation" else "result"
        assert printed[key] == served[name][key], name
        as_csv = cli("report", name, "--account", account, *args, *extra, "--format", "csv")
        assert as_csv.returncode == 0, as_csv.stderr
        rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
        assert len(rows) == len(served[name][key]), name


async def test_report_anomalies_table_shows_the_evidence(sqlite_url: str, data_dir: Path) -> None:
    sim = make_sim(api_keys=KEYS)
    truth = sim.truth(KEYS[0])
    seated = {m.email for m in truth.members() if m.removed_ms is None}
    counts = Counter(e.email for e in truth.events() if e.email in seated)
    victim = max(sorted(counts), key=lambda email: counts[email])
    sim.inject_spike(KEYS[0], victim, (NOW_MS // 86_400_000 - 1) * 86_400_000, factor=20)
    async with api_world(sqlite_url, data_dir, sim=sim) as api:
        account = api.accounts["default"]
        found = (await api.get("/analytics/anomalies", integrated_account_id=account)).json()
    spike = next(a for a in found["result"] if a["kind"] == "cost_spike")
    cli = CLI(data_dir=data_dir, database_url=sqlite_url, extra_env={"COLUMNS": "250"})
    table = cli("report", "anomalies", "--account", account)
    assert table.returncode == 0, table.stderr
    line = next(row for row in table.stdout.splitlines() if "cost_spike" in row)
    for shown in (spike["details"]["multiple"], spike["details"]["cost"]):
        assert f" {shown} " in line, (shown, line)
