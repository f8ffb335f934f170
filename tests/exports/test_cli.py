"""``unimeter export focus|consumption|chargeback`` as a user runs it, on a synced store."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq

from tests.exports.test_analyses import typed
from tests.support.api import api_world
from tests.support.cli import CLI

START, END = "2020-01-01", "2030-01-01"


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr
    return lines[0]


async def test_cli_writes_the_files_the_api_serves(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    async with api_world(sqlite_url, data_dir, sim_options={"users": 12}) as api:
        account = api.accounts["default"]
        days = {"start_date": START, "end_date": END}
        focus = await api.get("/exports/focus", integrated_account_id=account, **days)
        usage = await api.get("/exports/consumption", integrated_account_id=account, **days,
                              granularity="week", **{"group_by[]": "user"})  # fmt: skip
        teams = await api.get("/exports/chargeback", tenant_id="tenant-default", **days)
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)

    out = tmp_path / "focus.csv"
    done = cli("export", "focus", "--account", account, "--start", START, "--end", END,
               "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text() == focus.text
    assert not list(tmp_path.glob("*.partial"))

    out = tmp_path / "usage.parquet"
    done = cli("export", "consumption", "--account", account, "--start", START, "--end", END,
               "--group-by", "user", "--granularity", "week", "--format", "parquet",
               "-o", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [typed(r) for r in csv.DictReader(io.StringIO(usage.text))]
    assert rows
    assert pq.read_table(out).to_pylist() == rows

    done = cli("export", "chargeback", "--tenant", "tenant-default", "--start", START,
               "--end", END)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == teams.text

    records = cli("export", "members", "--account", account, "--format", "csv")
    assert records.returncode == 0, records.stderr
    assert records.stdout.startswith("id,email,")


async def test_cli_refuses_bad_input_in_one_line(
    sqlite_url: str, data_dir: Path, tmp_path: Path
) -> None:
    async with api_world(sqlite_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    out = tmp_path / "out.csv"
    cases = [
        # Refused before the store is opened.
        (("export", "focus", "--account", account, "--start", "June"), 2,
         "--start must be a date"),
        (("export", "focus", "--account", account, "--format", "jsonl"), 2, "csv or parquet"),
        (("export", "focus", "--account", account, "--by", "team"), 2,
         "--by is not an option of export focus"),
        (("export", "events", "--account", account, "--format", "parquet"), 2, "jsonl or csv"),
        # Refused against the store.
        (("export", "focus"), 2, "give exactly one of --account and --tenant"),
        (("export", "focus", "--account", "acc_nope"), 1, "integrated account not found"),
        (("export", "focus", "--tenant", "tenant-other"), 1, "tenant not found"),
        (("export", "focus", "--account", account, "--start", "2026-06-10", "--end",
          "2026-06-01"), 2, "before"),
        (("export", "consumption", "--account", account, "--group-by", "team"), 2, "group by"),
        (("export", "chargeback", "--account", account, "--by", "cost_center"), 2, "directory"),
    ]  # fmt: skip
    for args, code, fragment in cases:
        result = cli(*args, "-o", str(out))
        assert result.returncode == code, (args, result.stderr)
        assert fragment in _one_line_error(result.stderr), (args, result.stderr)
    assert not out.exists(), "a refused export writes no file"
