"""A store the CLI cannot use is one line: locked, out of reach, in an unusable place, or
encrypted under another master key. ``serve`` and ``db upgrade`` included."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.support.cli import CLI, one_line_error
from tests.support.server import free_port
from unimeter.kit.crypto import MasterKey
from unimeter.kit.keys import KEY_FILE_NAME, write_key_file

# Commands that open the store, each as a user would type it.
COMMANDS = [
    ["accounts", "list"],
    ["sync", "--all"],
    ["export", "events", "--account", "acc_x", "--format", "csv"],
    ["report", "seats", "--account", "acc_x"],
    ["tokens", "create"],
    ["keys", "rotate"],
    ["serve", "--port", "0"],
]


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Another process's write transaction, held open."""
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_locked_database_is_one_line(sqlite_url: str, data_dir: Path, args: list[str]) -> None:
    cli = CLI(data_dir, sqlite_url, {"UNIMETER_SQLITE_BUSY_TIMEOUT_MS": "100"})
    assert cli("accounts", "list").returncode == 0  # the store exists, in WAL mode
    with exclusive_lock(Path(sqlite_url.removeprefix("sqlite:///"))):
        line = one_line_error(cli(*args))
    assert "the database is locked by another process" in line
    assert "UNIMETER_SQLITE_BUSY_TIMEOUT_MS" in line


@pytest.mark.parametrize(
    "args", [*COMMANDS, ["db", "upgrade"], ["worker"]], ids=lambda a: " ".join(a[:2])
)
def test_an_unreachable_postgres_is_one_line(data_dir: Path, args: list[str]) -> None:
    url = f"postgresql://unimeter:pg-s3cret@127.0.0.1:{free_port()}/unimeter"
    line = one_line_error(CLI(data_dir, url)(*args), "pg-s3cret")
    assert line.startswith("error: cannot connect to the database: ")
    assert "Connection refused" in line and "UNIMETER_DATABASE_URL" in line


@pytest.mark.parametrize("args", [["accounts", "list"], ["db", "upgrade"], ["serve"]])
def test_a_sqlite_path_that_cannot_exist_is_one_line(tmp_path: Path, args: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    # A directory below a regular file cannot be created, whoever runs the test.
    cli = CLI(tmp_path / "data", f"sqlite:///{blocker}/sub/unimeter.db")
    assert f"cannot use {blocker}/sub" in one_line_error(cli(*args))


def test_a_data_directory_that_cannot_exist_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cli = CLI(blocker / "data", "")  # the default database, inside the data directory
    assert f"cannot use {blocker}/data" in one_line_error(cli("accounts", "list"))


@pytest.mark.parametrize("args", [["accounts", "list"], ["sync", "--all"], ["serve"]])
def test_a_master_key_that_does_not_match_the_store_is_one_line(
    database_url: str, data_dir: Path, args: list[str]
) -> None:
    cli = CLI(data_dir, database_url)
    assert cli("accounts", "list").returncode == 0  # the store now checks this key
    other = MasterKey.generate()
    write_key_file(data_dir / KEY_FILE_NAME, other)
    line = one_line_error(cli(*args), other.to_b64())
    assert "is not the one that encrypted the stored credentials" in line
