"""The CLI workflow: link, list, sync, export and remove, plus its one-line errors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import CLI, one_line_error
from tests.support.databases import SQLiteDatabases
from tests.support.live import serve
from tests.support.world import make_sim
from unimeter.connectors.cursor.simulator import SimulatedCursor, create_app


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatedCursor, str]]:
    sim = make_sim(seed=5, users=15, days=20)
    with serve(create_app(sim)) as base_url:
        yield sim, base_url


@pytest.fixture
def cli(sqlite_databases: SQLiteDatabases, data_dir: Path) -> CLI:
    return CLI(data_dir=data_dir, database_url=sqlite_databases.create())


def test_link_sync_export_remove(
    cli: CLI, served: tuple[SimulatedCursor, str], tmp_path: Path
) -> None:
    sim, base_url = served
    key = sim.keys[0]
    linked = cli("accounts", "link", "cursor", "--api-key", key, "--base-url", base_url,
                 "--tenant-id", "acme-42", "--name", "Acme", "--json")  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    account = json.loads(linked.stdout)
    assert account["id"].startswith("acc_")
    assert account["tenant_id"] == "acme-42"
    assert key not in linked.stdout + linked.stderr

    listed = json.loads(cli("accounts", "list", "--json").stdout)
    assert [a["id"] for a in listed] == [account["id"]]

    synced = cli("sync", account["id"], "--json")
    assert synced.returncode == 0, synced.stderr
    [report] = json.loads(synced.stdout)
    assert report["status"] == "succeeded"
    streams = report["streams"]
    assert {
        "members",
        "daily_usage",
        "usage_events",
        "spend",
        "billing_groups",
        "audit_logs",
    } <= set(streams)
    for stats in streams.values():
        assert {"inserted", "updated", "requests", "retries", "rate_limited", "seconds"} <= set(
            stats
        )
    truth = sim.truth()
    assert streams["usage_events"]["inserted"] == len(truth.events(truth.history_start_ms))
    assert key not in synced.stdout + synced.stderr

    table = cli("sync", "--all")
    assert table.returncode == 0, table.stderr
    assert "usage_events" in table.stdout

    out = tmp_path / "events.jsonl"
    exported = cli(
        "export", "events", "--account", account["id"], "--format", "jsonl", "-o", str(out)
    )
    assert exported.returncode == 0, exported.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == len(truth.events(truth.history_start_ms))
    payloads = [json.loads(line) for line in lines]
    assert {p["timestamp"] for p in payloads} == {
        t.payload["timestamp"] for t in truth.events(truth.history_start_ms)
    }

    daily = cli("export", "daily-usage", "--account", account["id"], "--format", "csv",
                "--start", "2026-06-01", "--end", "2026-06-07")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(daily.stdout)))
    assert rows
    assert {r["day"] for r in rows} <= {f"2026-06-0{d}" for d in range(1, 8)}
    members = cli("export", "members", "--account", account["id"], "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(members.stdout)))) == len(truth.members())
    spend = cli("export", "spend", "--account", account["id"], "--format", "jsonl")
    assert len(spend.stdout.splitlines()) == 2 * len(truth.spend()["teamMemberSpend"])

    removed = cli("accounts", "remove", account["id"])
    assert removed.returncode == 0
    assert json.loads(cli("accounts", "list", "--json").stdout) == []


def test_invalid_key_stores_nothing(cli: CLI, served: tuple[SimulatedCursor, str]) -> None:
    _, base_url = served
    result = cli(
        "accounts", "link", "cursor", "--api-key", "crsr_" + "f" * 64, "--base-url", base_url
    )
    assert result.returncode == 1
    assert "rejected the API key" in one_line_error(result)
    assert "crsr_" + "f" * 64 not in result.stderr
    assert json.loads(cli("accounts", "list", "--json").stdout) == []


def test_unreachable_cursor_is_one_line(cli: CLI) -> None:
    result = cli(
        "accounts",
        "link",
        "cursor",
        "--api-key",
        "crsr_" + "x" * 8,
        "--base-url",
        "http://127.0.0.1:9",
    )
    assert result.returncode == 1
    assert "could not reach Cursor" in one_line_error(result)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["sync", "acc_nope"], 1, "no integrated account"),
        (["sync"], 2, "--all"),
        (["sync", "--all", "--since", "June"], 2, "YYYY-MM-DD"),
        (["sync", "--all", "--since", "1970-01-01"], 2, "at most 365 days back"),
        (["sync", "--all", "--since", "2999-01-01"], 2, "cannot start in the future"),
        (
            ["export", "events", "--account", "acc_nope", "--format", "csv"],
            1,
            "no integrated account",
        ),
        (
            [
                "export",
                "events",
                "--account",
                "a",
                "--format",
                "csv",
                "--start",
                "2026-06-10",
                "--end",
                "2026-06-01",
            ],
            2,
            "before",
        ),
        (["export", "events", "--account", "a", "--format", "xml"], 2, "xml"),
        (["accounts", "link", "jira", "--api-key", "k"], 2, "unknown integration"),
        (["accounts", "link", "cursor"], 2, "API key is required"),
        (["accounts", "remove", "acc_nope"], 1, "no integrated account"),
    ],
)
def test_bad_arguments_give_one_line_errors(
    cli: CLI, args: list[str], code: int, fragment: str
) -> None:
    result = cli(*args)
    assert result.returncode == code, result.stderr
    assert fragment in one_line_error(result)
