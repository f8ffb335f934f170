"""The productivity export (one row per person and ISO week) against a computation made
here from the consumption answer (usage and cost) and the commits and runs the test wrote;
CSV and Parquet hold the same rows, and the CLI writes the API's file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.analytics.codeworld import END, PERIOD, START, code_world
from tests.exports.test_analyses import walk
from tests.support.cli import CLI

INTS = ("iso_year", "iso_week", "events", "input_tokens", "output_tokens", "cache_read_tokens",
        "cache_write_tokens", "total_tokens", "commits", "lines_added", "tab_lines_added",
        "agent_lines_added", "ai_lines_added", "human_lines_added", "agent_runs",
        "agent_runs_finished")  # fmt: skip
TOKENS = ("input", "output", "cache_read", "cache_write")


def _typed(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("week_start", "week_end"):
            out[key] = dt.date.fromisoformat(value)
        elif key == "cost":
            out[key] = Decimal(value)
        elif key in INTS:
            out[key] = int(value) if value else None
        else:
            out[key] = value or None
    return out


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _zero() -> dict[str, Any]:
    return {"events": 0, **{f"{t}_tokens": 0 for t in TOKENS}, "cost": Decimal(0),
            "commits": 0, "lines_added": 0, "tab_lines_added": 0, "agent_lines_added": 0,
            "human_lines_added": None, "agent_runs": 0, "agent_runs_finished": 0}  # fmt: skip


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


async def test_productivity_rows_per_person_and_week(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        scope = {"integrated_account_id": x.account_id, **PERIOD}
        usage = await walk(x.api, "/analytics/consumption", **scope, granularity="day",
                           limit=10000, **{"group_by[]": "user"})  # fmt: skip
        as_csv = await x.api.get("/exports/productivity", **scope)
        as_parquet = await x.api.get("/exports/productivity", **scope, format="parquet")
    assert as_csv.status_code == 200, as_csv.text
    rows = [_typed(r) for r in csv.DictReader(io.StringIO(as_csv.text))]
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.schema.field("cost").type == pa.decimal128(38, 8)
    assert table.schema.field("week_start").type == pa.date32()
    assert table.to_pylist() == rows, "CSV and Parquet hold the same rows"

    want: dict[tuple[dt.date, str], dict[str, Any]] = defaultdict(_zero)
    for r in usage:
        if r["user_email"]:
            w = want[(_monday(dt.date.fromisoformat(r["period_start"])), r["user_email"].lower())]
            w["events"] += r["events"]
            for t in TOKENS:
                w[f"{t}_tokens"] += r["tokens"][t]
            w["cost"] += Decimal(r["cost"]["charged"])
    for c in x.commits:
        if START <= _day(c.committed_at_ms) < END:
            w = want[(_monday(_day(c.committed_at_ms)), c.user_email.lower())]
            w["commits"] += 1
            w["lines_added"] += c.lines_added
            w["tab_lines_added"] += c.completion_lines_added
            w["agent_lines_added"] += c.agent_lines_added
            if c.human_lines_added is not None:
                w["human_lines_added"] = (w["human_lines_added"] or 0) + c.human_lines_added
    for run in x.runs:
        if run.user_email and START <= _day(run.created_at_ms) < END:
            w = want[(_monday(_day(run.created_at_ms)), run.user_email)]
            w["agent_runs"] += 1
            w["agent_runs_finished"] += run.status == "finished"
    expected = []
    for (monday, email), w in sorted(want.items()):
        last = min(monday + dt.timedelta(days=7), END)
        year, week, _ = monday.isocalendar()
        expected.append({
            "iso_year": year, "iso_week": week, "week_start": max(monday, START),
            "week_end": last, "user_email": email, "team": x.teams.get(email),
            "events": w["events"], **{f"{t}_tokens": w[f"{t}_tokens"] for t in TOKENS},
            "total_tokens": sum(w[f"{t}_tokens"] for t in TOKENS), "cost": w["cost"],
            "currency": "USD", "commits": w["commits"], "lines_added": w["lines_added"],
            "tab_lines_added": w["tab_lines_added"], "agent_lines_added": w["agent_lines_added"],
            "ai_lines_added": w["tab_lines_added"] + w["agent_lines_added"],
            "human_lines_added": w["human_lines_added"], "agent_runs": w["agent_runs"],
            "agent_runs_finished": w["agent_runs_finished"],
        })  # fmt: skip
    assert rows == expected
    assert any(r["commits"] and r["cost"] for r in rows)

    cli = CLI(data_dir=data_dir, database_url=database_url)
    out = cli("export", "productivity", "--account", x.account_id, "--start", PERIOD["start_date"],
              "--end", PERIOD["end_date"])  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == as_csv.text
    refused = cli("export", "productivity", "--account", x.account_id, "--by", "team")
    assert refused.returncode == 2 and "--by is not an option of export productivity" in (
        refused.stderr
    )
