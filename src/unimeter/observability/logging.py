"""Process-wide logging: one line per record, as text or JSON, always redacted."""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Literal

import orjson

from unimeter.kit.redact import RedactingFilter, redact_text

LogFormat = Literal["text", "json"]

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", ...extra}`` per line, for log pipelines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (name, value)
            for name, value in record.__dict__.items()
            if name not in _STANDARD and not name.startswith("_")
        )
        # Like logging.Formatter, prefer exc_text: the redacting filter leaves the redacted
        # traceback there, while exc_info would render the raw one again.
        exception = record.exc_text
        if not exception and record.exc_info:
            exception = self.formatException(record.exc_info)
        if exception:
            entry["exception"] = exception
        # The filter already redacted the message and flat extras; values nested in extras
        # (dicts, exceptions, objects) only become text here, so the line is checked again.
        return redact_text(orjson.dumps(entry, default=str).decode())


class OneLineFormatter(logging.Formatter):
    """Text records whose exception shows as its last line (type and message) instead of a
    traceback: a one-shot CLI command prints one line per problem."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        text = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        last = next((part.strip() for part in reversed(text.splitlines()) if part.strip()), "")
        return f"{line} ({last})" if last else line


def configure(
    log_format: LogFormat | None = None, level: str | None = None, *, tracebacks: bool = True
) -> None:
    """Install the root handler (replacing any), with redaction on the handler itself so
    records from every library pass through it. Without ``tracebacks``, text records keep
    one line each (JSON records are one line anyway)."""
    chosen = log_format or os.environ.get("UNIMETER_LOG_FORMAT", "text")
    handler = logging.StreamHandler()
    if chosen == "json":
        handler.setFormatter(JsonFormatter())
    else:
        text = "unimeter: %(levelname)s %(name)s: %(message)s"
        handler.setFormatter(logging.Formatter(text) if tracebacks else OneLineFormatter(text))
    handler.addFilter(RedactingFilter())
    resolved = (level or os.environ.get("UNIMETER_LOG_LEVEL", "WARNING")).upper()
    logging.basicConfig(level=resolved, handlers=[handler], force=True)
    # httpx logs full URLs at INFO; our client logs what matters without query strings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # uvicorn and procrastinate get our handler through the root logger.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
        # A level set earlier (by uvicorn's own config, say) would filter before the root.
        named.setLevel(logging.NOTSET)
