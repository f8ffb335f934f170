"""``unimeter notifications``: add, list, test, digest and remove from the command line, the
secret read from the environment and never printed. In process (Typer's runner) to stay
fast; the commands open their own runtime from the environment as they do in a shell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.webhooks.receiver import Receiver
from unimeter.cli.main import app

SECRET_PATH = "/services/T9/B9/cliSecretToken42"


def test_channels_from_the_command_line(
    database_url: str, data_dir: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNIMETER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNIMETER_DATABASE_URL", database_url)
    monkeypatch.setenv("UNIMETER_ALLOW_PRIVATE_WEBHOOKS", "1")
    monkeypatch.setenv("UNIMETER_SLACK_WEBHOOK_URL", receiver.url + SECRET_PATH)
    runner = CliRunner()

    def cli(*args: str) -> Any:
        return runner.invoke(app, list(args))

    added = cli("notifications", "add", "--name", "team", "--kind", "slack",
                "--topic", "digest", "--topic", "anomaly", "--min-impact", "10")  # fmt: skip
    assert added.exit_code == 0, added.output
    channel = json.loads(added.stdout)
    listed = cli("notifications", "list", "--json")
    tested = cli("notifications", "test", channel["id"])
    digest = cli("notifications", "digest", "--send")
    again = cli("notifications", "digest", "--send")
    bad = cli("notifications", "add", "--name", "x", "--kind", "slack", "--topic", "everything")
    removed = cli("notifications", "remove", channel["id"])
    missing = cli("notifications", "remove", channel["id"])

    assert [c["id"] for c in json.loads(listed.stdout)] == [channel["id"]]
    assert channel["topics"] == ["anomaly", "digest"] and channel["min_anomaly_impact"] == "10"
    assert json.loads(tested.stdout)["status"] == "sent", tested.output
    assert json.loads(digest.stdout)["queued"] == 1 and json.loads(again.stdout)["queued"] == 0
    bodies = [json.loads(r.body) for r in receiver.received(SECRET_PATH)]
    assert [b["text"].split(" ")[0] for b in bodies] == ["Test", "Weekly"]
    assert bad.exit_code == 1 and bad.output.startswith("error: topics")
    assert removed.exit_code == 0
    assert missing.exit_code == 1 and "not found" in missing.output
    for result in (added, listed, tested, digest, removed):
        assert "cliSecretToken42" not in result.output
