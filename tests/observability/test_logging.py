"""Process logging: one line per record, text or JSON, with secrets redacted either way.

Most tests call :func:`unimeter.observability.logging.configure` for real, which rewires
the process-global root logger; the ``configure`` fixture undoes that after each test.
``unimeter serve --log-format json`` as a real process: test_serve_json_logs.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from unimeter.kit.redact import MASK, RedactingFilter
from unimeter.observability import logging as logs

LOGGER = "unimeter.tests.logging"
# Loggers configure() changes besides the root logger.
LIBRARY_LOGGERS = ("httpx", "uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate")
ENV_VARS = ("UNIMETER_LOG_FORMAT", "UNIMETER_LOG_LEVEL")

CURSOR_KEY = "crsr_" + "9e1f0c" * 8
# (what gets logged, the part of it that must never reach the output)
SECRETS = {
    "cursor-admin-key": (f"admin key {CURSOR_KEY}", CURSOR_KEY),
    "key-style-key": ("admin key key_a1B2c3D4e5F6g7H8i9J0k1L2", "key_a1B2c3D4e5F6g7H8i9J0k1L2"),
    "api-token": ("token umk_Q7xLp2Vd9KsT4mNw8RcYb3Jh", "umk_Q7xLp2Vd9KsT4mNw8RcYb3Jh"),
    "webhook-secret": (
        "signing secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ),
    "bearer-header": (
        "sent Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlLXZhbHVl",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlLXZhbHVl",
    ),
    "database-url-password": (
        "cannot reach postgresql://unimeter:s3cr3t-Pa55w0rd@db.internal:5432/unimeter",
        "s3cr3t-Pa55w0rd",
    ),
}


def _named_state() -> dict[str, tuple[list[logging.Handler], int, bool]]:
    return {
        name: (lg.handlers[:], lg.level, lg.propagate)
        for name, lg in ((n, logging.getLogger(n)) for n in LIBRARY_LOGGERS)
    }


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``logs.configure`` for this test only: root and library loggers are restored after.

    pytest's own handlers sit on the root logger while a test runs; they are detached (not
    closed, as ``basicConfig(force=True)`` would) before configuring, and put back after.
    """
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    saved_level = root.level
    saved_named = _named_state()

    def run(
        log_format: logs.LogFormat | None = None, level: str | None = None, **options: bool
    ) -> None:
        for handler in root.handlers[:]:
            if handler in saved_handlers:
                root.removeHandler(handler)
        logs.configure(log_format, level, **options)

    yield run

    for handler in root.handlers[:]:
        root.removeHandler(handler)
        if handler not in saved_handlers:
            handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    for name, (handlers, level, propagate) in saved_named.items():
        named = logging.getLogger(name)
        named.handlers[:] = handlers
        named.setLevel(level)
        named.propagate = propagate


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _entries(text: str) -> list[dict[str, Any]]:
    entries = [json.loads(line) for line in _lines(text)]
    assert all(isinstance(e, dict) for e in entries), entries
    return entries


def _raise(message: str) -> None:
    raise RuntimeError(message)


# --- JSON lines ---------------------------------------------------------------------------


def test_json_record_is_one_line_with_timestamp_level_logger_message_and_extras(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json", "INFO")
    before = dt.datetime.now(dt.UTC)
    logging.getLogger(LOGGER).info(
        "synced %d events\nfor %s",
        42,
        "acc_1",
        extra={
            "account_id": "acc_1",
            "attempt": 3,
            "window": {"days": 7, "full": False},
            "where": Path("/var/lib/unimeter"),  # not JSON-native: rendered with str()
            "_internal": "left out",
        },
    )
    after = dt.datetime.now(dt.UTC)

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, "a multi-line message still makes one line"
    entry = json.loads(lines[0])
    ts = dt.datetime.fromisoformat(entry.pop("ts"))
    assert ts.utcoffset() == dt.timedelta(0)
    slack = dt.timedelta(milliseconds=1)  # float epoch -> microseconds rounding
    assert before - slack <= ts <= after + slack
    assert entry == {
        "level": "info",
        "logger": LOGGER,
        "message": "synced 42 events\nfor acc_1",
        "account_id": "acc_1",
        "attempt": 3,
        "window": {"days": 7, "full": False},
        "where": "/var/lib/unimeter",
    }


@pytest.mark.parametrize(
    ("level", "name"),
    [
        (logging.DEBUG, "debug"),
        (logging.WARNING, "warning"),
        (logging.ERROR, "error"),
        (logging.CRITICAL, "critical"),
    ],
)
def test_json_level_is_the_lowercase_level_name(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str], level: int, name: str
) -> None:
    configure("json", "DEBUG")
    logging.getLogger(LOGGER).log(level, "at %s", name)
    [entry] = _entries(capsys.readouterr().err)
    assert (entry["level"], entry["message"]) == (name, f"at {name}")


def test_json_exception_is_the_formatted_traceback_on_the_same_line(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json", "INFO")
    try:
        _raise("boom")
    except RuntimeError as exc:
        error = exc
    # The form the API's error handler uses: an exception instance outside its except block.
    logging.getLogger(LOGGER).error("unhandled error", exc_info=error)

    lines = _lines(capsys.readouterr().err)
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert (entry["level"], entry["message"]) == ("error", "unhandled error")
    traceback = entry["exception"]
    assert traceback.startswith("Traceback (most recent call last):\n")
    assert "in _raise" in traceback
    assert traceback.endswith("RuntimeError: boom")


def test_text_record_is_one_prefixed_line(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("text", "INFO")
    logging.getLogger(LOGGER).warning("disk %s at %d%%", "full", 97)
    assert capsys.readouterr().err == f"unimeter: WARNING {LOGGER}: disk full at 97%\n"


def test_text_without_tracebacks_keeps_the_exception_on_the_same_line_redacted(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("text", "INFO", tracebacks=False)
    try:
        _raise(f"Cursor rejected {CURSOR_KEY}\nsecond line")
    except RuntimeError:
        logging.getLogger(LOGGER).exception("sync of %s failed", "acc_1")
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1, err
    assert err.startswith(f"unimeter: ERROR {LOGGER}: sync of acc_1 failed (RuntimeError: Cursor")
    assert err.endswith(" second line)\n")
    assert "Traceback" not in err and CURSOR_KEY not in err

    logging.getLogger(LOGGER).error("no exception here")
    assert capsys.readouterr().err == f"unimeter: ERROR {LOGGER}: no exception here\n"


# --- redaction ----------------------------------------------------------------------------


def _log_with_secret(placement: str, text: str) -> None:
    log = logging.getLogger(LOGGER)
    if placement == "message":
        log.warning(f"upstream said: {text}")
    elif placement == "argument":
        log.warning("upstream said: %s", text)
    elif placement == "exception":
        try:
            _raise(f"upstream said: {text}")
        except RuntimeError:
            log.exception("request failed")
    elif placement == "cause":
        try:
            try:
                _raise(f"upstream said: {text}")
            except RuntimeError as inner:
                raise ValueError("could not link the account") from inner
        except ValueError:
            log.exception("request failed")
    else:
        raise AssertionError(placement)


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("placement", ["message", "argument", "exception", "cause"])
@pytest.mark.parametrize("case", list(SECRETS))
def test_secrets_never_reach_the_output(
    configure: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    log_format: logs.LogFormat,
    placement: str,
    case: str,
) -> None:
    text, secret = SECRETS[case]
    configure(log_format, "INFO")
    _log_with_secret(placement, text)

    output = capsys.readouterr().err
    assert secret not in output
    assert MASK in output
    # The record itself was kept, minus the secret.
    assert "upstream said" in output
    if placement in ("exception", "cause"):
        assert "Traceback (most recent call last)" in output
        assert "RuntimeError: upstream said" in output
    if log_format == "json":
        assert len(_entries(output)) == 1


def test_json_extra_fields_are_redacted(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json", "INFO")
    detail = SECRETS["database-url-password"][0]
    logging.getLogger(LOGGER).warning(
        "linking failed",
        extra={"detail": detail, "api_key": "plain-looking-value", "attempt": 2},
    )
    [entry] = _entries(capsys.readouterr().err)
    assert entry["api_key"] == MASK, "a field named like a secret is masked whole"
    assert SECRETS["database-url-password"][1] not in entry["detail"]
    assert entry["detail"].startswith("cannot reach postgresql://")
    assert entry["attempt"] == 2


def test_json_nested_and_object_extras_are_redacted(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure("json", "INFO")
    logging.getLogger(LOGGER).warning(
        "sync failed",
        extra={
            "context": {"url": SECRETS["database-url-password"][0]},
            "error": RuntimeError(SECRETS["cursor-admin-key"][0]),
        },
    )
    output = capsys.readouterr().err
    assert SECRETS["database-url-password"][1] not in output
    assert CURSOR_KEY not in output


def test_registered_literal_secrets_are_masked_in_json_message_extras_and_traceback() -> None:
    """Secrets the app knows by value (no recognisable shape), through the JSON formatter."""
    literal, late = "opensesame-2718", "hunter2-late"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    redactor = RedactingFilter([literal])
    handler.addFilter(redactor)
    log = logging.getLogger(f"{LOGGER}.literal")
    log.addHandler(handler)
    log.propagate = False
    # Its own level: an in-process CLI run earlier in the worker may leave the root at ERROR.
    log.setLevel(logging.INFO)
    try:
        redactor.register(late)
        log.warning("password is %s", literal, extra={"note": f"also {late}"})
        try:
            _raise(f"wrong password {literal}")
        except RuntimeError:
            log.exception("login failed for %s", late)
    finally:
        log.removeHandler(handler)
        log.propagate = True
        log.setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert literal not in output
    assert late not in output
    first, second = _entries(output)
    assert first["message"] == f"password is {MASK}"
    assert first["note"] == f"also {MASK}"
    assert second["message"] == f"login failed for {MASK}"
    assert second["exception"].endswith(f"RuntimeError: wrong password {MASK}")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_record_that_cannot_be_rendered_is_withheld_not_leaked(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str], log_format: logs.LogFormat
) -> None:
    configure(log_format, "INFO")
    # "%d" with a str argument: rendering the message raises inside the filter.
    logging.getLogger(LOGGER).warning(f"count %d for {CURSOR_KEY}", "not-a-number")
    output = capsys.readouterr().err
    assert CURSOR_KEY not in output
    assert "not-a-number" not in output
    assert "withheld" in output
    assert "--- Logging error ---" not in output
    assert len(_lines(output)) == 1
    if log_format == "json":
        [entry] = _entries(output)
        assert entry["level"] == "warning"
        assert entry["message"].endswith(f"count %d for crsr_{MASK}")


# --- configuration ------------------------------------------------------------------------


def test_environment_chooses_format_and_level(
    configure: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNIMETER_LOG_FORMAT", "json")
    monkeypatch.setenv("UNIMETER_LOG_LEVEL", "debug")
    configure()
    logging.getLogger(LOGGER).debug("fine detail")
    [entry] = _entries(capsys.readouterr().err)
    assert (entry["level"], entry["message"]) == ("debug", "fine detail")


def test_default_is_text_at_warning(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    configure()
    log = logging.getLogger(LOGGER)
    log.info("routine")
    log.warning("unusual")
    assert capsys.readouterr().err == f"unimeter: WARNING {LOGGER}: unusual\n"


def test_arguments_override_the_environment(
    configure: Callable[..., None],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNIMETER_LOG_FORMAT", "json")
    monkeypatch.setenv("UNIMETER_LOG_LEVEL", "ERROR")
    configure("text", "INFO")
    logging.getLogger(LOGGER).info("routine")
    assert capsys.readouterr().err == f"unimeter: INFO {LOGGER}: routine\n"


def test_configure_replaces_handlers_and_routes_library_loggers_through_root(
    configure: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    stray = io.StringIO()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.StreamHandler(stray))  # as uvicorn's own log config would
    access.propagate = False

    configure("json", "DEBUG")
    configure("json", "DEBUG")  # twice: still one handler, so one line per record
    logging.getLogger(LOGGER).warning("once")
    access.info('127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200')
    logging.getLogger("procrastinate.worker").info("job started")
    logging.getLogger("httpx").info("HTTP Request: GET https://api.cursor.com/teams?x=1")
    logging.getLogger("httpx").warning("connection pool is full")

    entries = _entries(capsys.readouterr().err)
    assert [(e["logger"], e["message"]) for e in entries] == [
        (LOGGER, "once"),
        ("uvicorn.access", '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200'),
        ("procrastinate.worker", "job started"),
        ("httpx", "connection pool is full"),
    ]
    assert stray.getvalue() == "", "uvicorn's own handlers are removed"
    assert len(logging.getLogger().handlers) == 1
