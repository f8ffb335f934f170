"""Secret hygiene: masking in text, mappings, URLs and through real loggers."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import pytest

from unimeter.kit.redact import (
    MASK,
    SENSITIVE_KEYS,
    RedactingFilter,
    is_sensitive_key,
    redact_mapping,
    redact_text,
    sanitize_url,
)

CURSOR_KEY = "crsr_" + "9e1f0c" * 8
OUR_TOKEN = "umk_" + "Q7xLp2Vd9KsT4mNw8RcY"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


# --- redact_text -------------------------------------------------------------------------


def test_literal_secrets_are_masked_everywhere() -> None:
    text = "a=opensesame b=[opensesame] c=opensesame!"
    assert redact_text(text, ["opensesame"]) == "a=*** b=[***] c=***!"


def test_short_or_empty_literals_are_ignored() -> None:
    assert redact_text("a cat sat on abc", ["", "a", "abc"]) == "a cat sat on abc"


def test_longest_literal_is_masked_first() -> None:
    assert redact_text("x supersecret y", ["secr", "supersecret"]) == "x *** y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"using {CURSOR_KEY} now", "using crsr_*** now"),
        ("key key_" + "a1" * 12 + ".", "key key_***."),
        (f"token {OUR_TOKEN}", "token umk_***"),
        (f"signing with {WEBHOOK_SECRET}", "signing with whsec_***"),
        ("Authorization: Basic Y3Jzcl9hYmM6", "Authorization: Basic ***"),
        ("authorization: bearer abc.def-ghi", "authorization: bearer ***"),
        ("{'Authorization': 'Bearer eyJhbGc'}", "{'Authorization': 'Bearer ***'}"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic ***"),
        ("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "sent Bearer ***"),
        ("postgresql://app:hunter22@db:5432/um", "postgresql://***@db:5432/um"),
        (f"GET https://{CURSOR_KEY}:@api.cursor.com/teams", "GET https://***@api.cursor.com/teams"),
        ('{"api_key": "abcd1234", "n": 1}', '{"api_key": "***", "n": 1}'),
        ("password=hunter22&user=bob", "password=***&user=bob"),
        ("cursor_api_key: zzzz9999", "cursor_api_key: ***"),
        ("X-Api-Key: qqqq1234", "X-Api-Key: ***"),
    ],
)
def test_credential_shapes_are_masked(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Basic setup complete",
        "monkey_business_as_usual_today",
        "input_tokens=500 output_tokens: 20 token_count=3",
        "https://api.cursor.com/teams/daily-usage-data?page=2",
        "the bearer of bad news",
        "key_short",
        "crsr_short",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_redact_text_is_idempotent() -> None:
    once = redact_text(f"Authorization: Basic abcd {CURSOR_KEY} password=x1", ["abcd"])
    assert redact_text(once, ["abcd"]) == once


# --- redact_mapping ----------------------------------------------------------------------


def test_sensitive_keys_are_masked_case_insensitively() -> None:
    assert is_sensitive_key("API_KEY")
    assert is_sensitive_key("X-Api-Key")
    assert is_sensitive_key("x_api_key")
    assert is_sensitive_key("Set-Cookie")
    assert is_sensitive_key("cursor_api_key")
    assert is_sensitive_key("signing_secret")
    assert not is_sensitive_key("input_tokens")
    assert not is_sensitive_key("name")
    assert {"api_key", "authorization", "token", "cookie", "set-cookie"} <= SENSITIVE_KEYS


def test_redact_mapping_deep_copies_and_masks() -> None:
    original = {
        "Authorization": "Basic abc",
        "account": {"name": "acme", "API_KEY": CURSOR_KEY, "limits": [1, 2]},
        "events": [{"token": {"nested": "value"}, "model": "gpt"}, ("x", {"Password": "p"})],
        7: "non-string key",
    }
    redacted = redact_mapping(original)
    assert redacted == {
        "Authorization": MASK,
        "account": {"name": "acme", "API_KEY": MASK, "limits": [1, 2]},
        "events": [{"token": MASK, "model": "gpt"}, ("x", {"Password": MASK})],
        7: "non-string key",
    }
    assert original["Authorization"] == "Basic abc"
    assert isinstance(redacted, dict)
    assert redacted["account"] is not original["account"]
    assert redacted["account"]["limits"] is not original["account"]["limits"]  # type: ignore[index]


def test_redact_mapping_passes_scalars_through() -> None:
    assert redact_mapping("plain") == "plain"
    assert redact_mapping(None) is None
    assert redact_mapping([1, "a"]) == [1, "a"]


# --- sanitize_url ------------------------------------------------------------------------


def test_sanitize_url_masks_userinfo_and_sensitive_params() -> None:
    url = "https://bob:pw@example.com:8443/a/b?api_key=abc&page=2&Token=x%20y&q=a+b#frag"
    assert sanitize_url(url) == (
        "https://***@example.com:8443/a/b?api_key=***&page=2&Token=***&q=a+b#frag"
    )


def test_sanitize_url_masks_a_username_only_userinfo() -> None:
    assert sanitize_url(f"https://{CURSOR_KEY}@api.cursor.com/x") == "https://***@api.cursor.com/x"


def test_sanitize_url_handles_encoded_names_and_fragments() -> None:
    url = "https://h/cb?client%5Fsecret=s3cr3t&x#access_token=zz&state=1"
    assert sanitize_url(url) == "https://h/cb?client%5Fsecret=***&x#access_token=***&state=1"


def test_sanitize_url_leaves_clean_urls_byte_identical() -> None:
    url = "https://api.cursor.com/teams/filtered-usage-events?startDate=1&email=a%40b.c&x"
    assert sanitize_url(url) == url


def test_sanitize_url_never_raises_on_malformed_input() -> None:
    assert sanitize_url("http://[::1") == "http://[::1"
    assert sanitize_url("http://u:pw@[::1") == "http://***@[::1"


# --- RedactingFilter through real loggers ------------------------------------------------


class _RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, RedactingFilter, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    redacting = RedactingFilter(["preloaded-secret"])
    handler.addFilter(redacting)
    logger = logging.getLogger(f"unimeter.test.redact.{id(stream)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield logger, redacting, stream
    finally:
        logger.removeHandler(handler)


def test_filter_masks_formatted_messages_and_args(captured) -> None:
    logger, redacting, stream = captured
    redacting.register("runtime-secret-value")
    logger.info("key=%s other=%r", "runtime-secret-value", {"note": "preloaded-secret"})
    logger.warning("calling %s with %s", "https://x:y@h/", f"Authorization: Basic {CURSOR_KEY}")
    output = stream.getvalue()
    assert "runtime-secret-value" not in output
    assert "preloaded-secret" not in output
    assert CURSOR_KEY not in output
    assert "x:y@" not in output
    assert "INFO key=*** other={'note': '***'}" in output
    assert "WARNING calling https://***@h/ with Authorization: Basic ***" in output


def test_filter_redacts_record_args_for_every_later_consumer(captured) -> None:
    logger, redacting, _ = captured
    spy = _RecordingHandler()
    spy.addFilter(redacting)
    logger.addHandler(spy)
    try:
        logger.error("leaked %s", CURSOR_KEY)
    finally:
        logger.removeHandler(spy)
    (record,) = spy.records
    assert record.args == ()
    assert CURSOR_KEY not in repr(record.__dict__)
    assert record.getMessage() == "leaked crsr_***"


def test_filter_masks_tracebacks_and_extras(captured) -> None:
    logger, redacting, stream = captured
    redacting.register("boom-secret-1234")
    try:
        raise RuntimeError("failed with boom-secret-1234")
    except RuntimeError:
        logger.exception("sync failed", extra={"api_key": "abc123", "detail": CURSOR_KEY})
    output = stream.getvalue()
    assert "RuntimeError: failed with ***" in output
    assert "boom-secret-1234" not in output


def test_filter_on_a_logger_with_extra_fields(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("unimeter.test.redact.extras")
    redacting = RedactingFilter()
    logger.addFilter(redacting)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("stored", extra={"api_key": "abc123", "detail": f"k={CURSOR_KEY}"})
    finally:
        logger.removeFilter(redacting)
    (record,) = caplog.records
    assert record.api_key == MASK  # type: ignore[attr-defined]
    assert record.detail == "k=crsr_***"  # type: ignore[attr-defined]
    assert CURSOR_KEY not in caplog.text


def test_filter_never_raises_and_fails_closed(captured) -> None:
    logger, _, stream = captured
    logger.info("needs two %s %s", f"only-one {CURSOR_KEY}")
    output = stream.getvalue()
    assert "withheld" in output
    assert "needs two %s %s" in output
    assert CURSOR_KEY not in output


def test_filter_survives_objects_that_fail_to_render(captured) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no")

        __repr__ = __str__

    logger, _, stream = captured
    logger.info("value %s", Unprintable())
    logger.info(Unprintable())
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert all("withheld" in line for line in lines)


def test_register_ignores_short_values() -> None:
    redacting = RedactingFilter()
    redacting.register("ab")
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "ab cab", (), None)
    assert redacting.filter(record) is True
    assert record.getMessage() == "ab cab"


def test_register_is_thread_safe() -> None:
    redacting = RedactingFilter()
    secrets = [f"thread-secret-{n:04d}" for n in range(200)]

    def register_all(chunk: list[str]) -> None:
        for secret in chunk:
            redacting.register(secret)

    threads = [threading.Thread(target=register_all, args=(secrets[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = logging.LogRecord("n", logging.INFO, __file__, 1, " ".join(secrets), (), None)
    redacting.filter(record)
    assert record.getMessage() == " ".join([MASK] * len(secrets))
