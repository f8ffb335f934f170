"""Process-wide logging: one line per record, as text or JSON, always redacted."""

from __future__ import annotations

import datetime as dt
import logging
import os
import traceback
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
    """Text records whose exception shows as its type and message instead of a traceback:
    a one-shot CLI command prints one line per problem."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        exception = _exception_line(record, self)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved
        return f"{line} ({exception})" if exception else line


def _exception_line(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    """The last exception of the (already redacted) traceback text, from its ``Type:`` line
    to the end, on one line."""
    text = record.exc_text
    if not text and record.exc_info:
        text = formatter.formatException(record.exc_info)
    lines = [part.strip() for part in (text or "").splitlines() if part.strip()]
    if not lines:
        return ""
    start = len(lines) - 1
    error = record.exc_info[1] if record.exc_info else None
    if error is not None:
        # The name as tracebacks print it (``module.Name`` outside builtins); only its
        # prefix is used, so the unredacted message never leaves this function.
        name = traceback.format_exception_only(type(error), error)[0].split(":", 1)[0].strip()
        start = next(
            (i for i in range(len(lines) - 1, -1, -1) if lines[i].split(":", 1)[0] == name),
            start,
        )
    return " ".join(lines[start:])


FORMAT_ENV = "UNIMETER_LOG_FORMAT"


def configure(
    log_format: LogFormat | None = None, level: str | None = None, *, tracebacks: bool = True
) -> None:
    """Install the root handler (replacing any), with redaction on the handler itself so
    records from every library pass through it. Without ``tracebacks``, text records keep
    one line each (JSON records are one line anyway)."""
    chosen = log_format or os.environ.get(FORMAT_ENV, "text")
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
