"""What the CLI prints for a failure nobody anticipated, and for a malformed setting; and
how an error is explained by the known error it was raised from."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import CLI, one_line_error
from unimeter.cli.errors import explain
from unimeter.connectors.errors import SourceUnavailableError, StreamUnavailableError


@pytest.fixture
def corrupt(sqlite_url: str, data_dir: Path) -> CLI:
    """A store with a row no code path expects: an account whose settings are not JSON."""
    cli = CLI(data_dir, sqlite_url)
    assert cli("accounts", "list").returncode == 0
    with closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as db:
        db.execute(
            "INSERT INTO integrated_accounts (id, environment_id, integration, status, base_url,"
            " credentials, settings, created_at, updated_at)"
            " SELECT 'acc_bad', id, 'cursor', 'active', 'http://x', 'x', 'not json', 0, 0"
            " FROM environments LIMIT 1"
        )
        db.commit()
    return cli


def test_an_unexpected_error_is_one_line_naming_it(corrupt: CLI) -> None:
    line = one_line_error(corrupt("accounts", "list"))
    assert line.startswith("error: internal error (JSONDecodeError): ")
    assert line.endswith("run again with --debug (or UNIMETER_DEBUG=1) for the traceback")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(corrupt: CLI, how: str) -> None:
    if how == "flag":
        result = corrupt("--debug", "accounts", "list")
    else:
        corrupt.extra_env = {"UNIMETER_DEBUG": "1"}
        result = corrupt("accounts", "list")
    assert result.returncode != 0
    assert "Traceback (most recent call last)" in result.stderr
    assert "JSONDecodeError" in result.stderr.splitlines()[-1]


def test_a_malformed_setting_is_one_line(sqlite_url: str, data_dir: Path) -> None:
    cli = CLI(data_dir, sqlite_url, {"UNIMETER_SCHEDULER_TICK_SECONDS": "soon"})
    line = one_line_error(cli("accounts", "list"))
    assert line.startswith("error: invalid setting UNIMETER_SCHEDULER_TICK_SECONDS: ")


def _raised_from(cause: Exception, wrapper: Exception) -> Exception:
    try:
        try:
            raise cause
        except type(cause) as exc:
            raise wrapper from exc
    except type(wrapper) as exc:
        return exc


def test_an_unknown_wrapper_is_explained_by_the_vendor_error_inside() -> None:
    forbidden = StreamUnavailableError(
        "Cursor GET /teams/members: HTTP 403 Forbidden: Enterprise access required"
    )

    class PrivateWrapperError(Exception):
        pass

    line = explain(_raised_from(forbidden, PrivateWrapperError(str(forbidden))))
    assert line.startswith("Cursor GET /teams/members: HTTP 403 Forbidden: Enterprise access")
    assert "plan" in line
    assert "internal error" not in line


def test_a_known_error_keeps_its_own_words_over_its_cause() -> None:
    outer = SourceUnavailableError("Cursor is unavailable: HTTP 503 after 6 attempts")
    line = explain(_raised_from(ConnectionResetError(), outer))
    assert line.startswith("Cursor is unavailable: HTTP 503 after 6 attempts; ")


def test_anything_else_is_an_internal_error_on_one_line() -> None:
    line = explain(KeyError("two\nlines"))
    assert line == (
        "internal error (KeyError): 'two\\nlines'; run again with --debug "
        "(or UNIMETER_DEBUG=1) for the traceback"
    )
