"""``unimeter report ai-code``, ``agents`` and ``ai-usage`` print what the API serves, and
refuse bad input in one line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.analytics.codeworld import PERIOD, code_world
from tests.support.cli import CLI


async def test_code_reports_print_what_the_api_serves(sqlite_url: str, data_dir: Path) -> None:
    reports = {
        "ai-code": ("/analytics/ai-code", {"group_by": "user", "granularity": "month"},
                    ["--group-by", "user", "--granularity", "month"]),
        "agents": ("/analytics/agents", {}, []),
        "ai-usage": ("/analytics/ai-usage", {"granularity": "week"}, ["--granularity", "week"]),
    }  # fmt: skip
    async with code_world(sqlite_url, data_dir) as x:
        served = {}
        for name, (path, params, _) in reports.items():
            response = await x.api.get(path, integrated_account_id=x.account_id, **PERIOD,
                                       **params)  # fmt: skip
            assert response.status_code == 200, response.text
            served[name] = response.json()
        account = x.account_id
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    days = ["--start", PERIOD["start_date"], "--end", PERIOD["end_date"]]
    for name, (_, _, args) in reports.items():
        out = cli("report", name, "--account", account, *days, *args, "--format", "json")
        assert out.returncode == 0, out.stderr
        printed = json.loads(out.stdout)
        served[name].pop("next_cursor", None)
        assert printed == served[name], name
        as_csv = cli("report", name, "--account", account, *days, *args, "--format", "csv")
        assert as_csv.returncode == 0, as_csv.stderr
        rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
        if name == "ai-usage":
            assert len(rows) == sum(len(k["keys"]) for k in printed["result"])
        else:
            assert len(rows) == len(printed["result"]) > 0, name
    table = cli("report", "ai-code", "--account", account, *days)
    assert table.returncode == 0 and "ai_share" in table.stdout, table.stderr


def test_code_reports_refuse_bad_input_in_one_line(data_dir: Path, sqlite_url: str) -> None:
    cli = CLI(data_dir=data_dir, database_url=sqlite_url)
    cases = [
        (("report", "ai-code"), "give exactly one of --account and --tenant"),
        (("report", "ai-code", "--account", "a", "--branch", "dev"), "--branch is primary or all"),
        (("report", "ai-code", "--account", "a", "--group-by", "model"), "--group-by is team"),
        (("report", "agents", "--account", "acc_nope"), "integrated account not found"),
        (("report", "ai-usage", "--account", "a", "--kind", "chats"), "unknown --kind chats"),
        (("report", "ai-usage", "--account", "a", "--granularity", "hour"), "--granularity is"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode != 0, args
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
