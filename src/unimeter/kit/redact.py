"""Keep secrets out of logs, error messages and CLI output.

Two complementary nets, because neither is enough alone:

* **Known values.** The app knows the secrets it holds (decrypted Cursor keys, webhook
  signing secrets) and registers them with :class:`RedactingFilter`, which masks them
  wherever they appear, whatever the surrounding format.
* **Known shapes.** Secrets the app never registered (a key pasted into a config, an
  ``Authorization`` header echoed by a library, a database URL with a password) are caught
  by pattern: Cursor admin keys, ``Basic``/``Bearer`` credentials, our own ``umk_`` API
  tokens and ``ulk_`` link tokens, ``whsec_`` webhook secrets, URL passwords and
  ``name=value`` pairs whose name says "secret".

Masking favours over-redaction: a log line with a needless ``***`` costs a little
debugging, a leaked admin key costs a customer's whole Cursor team. Masks keep a known
prefix (``crsr_***``) so the kind of credential stays visible.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

__all__ = [
    "MASK",
    "SENSITIVE_KEYS",
    "RedactingFilter",
    "is_sensitive_key",
    "redact_mapping",
    "redact_text",
    "sanitize_url",
]

MASK = "***"
MIN_SECRET_CHARS = 4  # shorter literals would mask ordinary words and numbers everywhere

SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "api_key",
        "api-key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "cookie",
        "credentials",
        "key",
        "passwd",
        "password",
        "private_key",
        "proxy-authorization",
        "refresh_token",
        "secret",
        "secret_key",
        "set-cookie",
        "token",
        "webhook_secret",
        "x-api-key",
    }
)
# Compound names ("cursor_api_key", "signing_secret") are caught by suffix, since new
# fields get added faster than this list is updated.
_SENSITIVE_SUFFIXES = ("_api_key", "_apikey", "_secret", "_password", "_token", "_credentials")
_NORMALIZED_KEYS = frozenset(k.replace("-", "_") for k in SENSITIVE_KEYS)

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization / Proxy-Authorization header values, also inside reprs and JSON.
    (
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?:basic|bearer|token|digest)\s+)?)[^\s\"',;}]+"
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    # Cursor admin keys, our API and link tokens, webhook signing secrets.
    (re.compile(r"\b(crsr_|key_|umk_|ulk_)\w{16,}"), r"\1" + MASK),
    (re.compile(r"\b(whsec_)[A-Za-z0-9+/=_-]{8,}"), r"\1" + MASK),
    # Slack incoming-webhook URLs (notification channels): the path is the credential.
    (re.compile(r"(?i)\b(hooks\.slack(?:-gov)?\.com/)[^\s\"'<>]+"), r"\1" + MASK),
    # Credentials in URLs, scheme://user:password@host. The user part goes too: Cursor's
    # Basic auth puts the key itself there (https://KEY:@api.cursor.com).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*:[^/\s@]*@"), r"\1" + MASK + "@"),
    # name=value, name: value, "name": "value" where the name says secret.
    (
        re.compile(
            r"(?i)(?<![\w-])([\w-]*(?:api[_-]?key|secret|password|passwd|token|credentials)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
        ),
        r"\1" + MASK,
    ),
)


def is_sensitive_key(name: str) -> bool:
    """Whether a field, header or parameter called ``name`` holds a secret (case-insensitive)."""
    normalized = name.strip().lower().replace("-", "_")
    return normalized in _NORMALIZED_KEYS or normalized.endswith(_SENSITIVE_SUFFIXES)


def redact_mapping(value: object) -> object:
    """A deep copy of dicts/lists/tuples with the values of sensitive keys replaced by ``***``."""
    if isinstance(value, Mapping):
        return {
            k: MASK if isinstance(k, str) and is_sensitive_key(k) else redact_mapping(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_mapping(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact_mapping(item) for item in value)
    return value


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask the given literal ``secrets`` (4+ chars) and well-known credential shapes."""
    literals = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
    for secret in literals:  # longest first, so a secret containing another is fully masked
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def sanitize_url(url: str) -> str:
    """Mask userinfo and the values of sensitive query/fragment parameters in ``url``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rpartition("@")[2]
    masked = urlunsplit(
        (parts.scheme, netloc, parts.path, _mask_params(parts.query), _mask_params(parts.fragment))
    )
    return redact_text(masked)


def _mask_params(query: str) -> str:
    """Mask sensitive ``name=value`` pairs, leaving every other byte exactly as it was."""
    if "=" not in query:
        return query
    pairs = []
    for pair in query.split("&"):
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}={MASK}" if sep and is_sensitive_key(unquote_plus(name)) else pair)
    return "&".join(pairs)


# Attributes every LogRecord has; anything else on a record came from ``extra=`` and may
# be serialised by structured (JSON) formatters, so it is redacted too.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "asctime",
    "message",
    "taskName",
}
_WITHHELD = "[log message withheld: it could not be redacted]"


class RedactingFilter(logging.Filter):
    """Redacts known secrets and credential shapes from every record it sees; never raises.

    The record's arguments are folded into the redacted message and cleared, so no
    handler can re-render a raw argument. Tracebacks and ``extra=`` fields are redacted
    too. Attach it to *handlers*: a filter on a logger does not see records propagated
    from child loggers.
    """

    def __init__(self, secrets: Iterable[str] = (), name: str = "") -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        for secret in secrets:
            self.register(secret)

    def register(self, secret: str) -> None:
        """Mask ``secret`` from now on (ignored when shorter than 4 characters)."""
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_CHARS:
            with self._lock:  # copy-on-write: filter() reads the set without locking
                self._secrets = self._secrets | {secret}

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        try:
            _redact_record(record, secrets)
        except Exception:
            _withhold(record, secrets)
        return True


def _redact_record(record: logging.LogRecord, secrets: frozenset[str]) -> None:
    record.msg = redact_text(record.getMessage(), secrets)
    record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info, secrets)
    for name, value in list(vars(record).items()):
        if name not in _RECORD_ATTRS:
            setattr(record, name, _redact_extra(name, value, secrets))


def _redact_extra(name: str, value: object, secrets: frozenset[str]) -> object:
    if is_sensitive_key(name):
        return MASK
    if isinstance(value, str):
        return redact_text(value, secrets)
    return redact_mapping(value)


def _withhold(record: logging.LogRecord, secrets: frozenset[str]) -> None:
    """Fail closed: keep the (redacted) template for debugging, drop args and traceback."""
    try:
        message = f"{_WITHHELD}: {redact_text(str(record.msg), secrets)}"
    except Exception:
        message = _WITHHELD
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text, record.stack_info = None, None, None
