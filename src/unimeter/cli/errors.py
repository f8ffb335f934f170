"""What a failed command prints: one line, whatever went wrong.

Failures a person can act on (the vendor refused or stayed down, the database is locked or
out of reach, the master key does not match, a setting is malformed) are explained with a
hint. Anything else is a bug: it is named in one line too, and its traceback is one flag
away (``unimeter --debug …`` or ``UNIMETER_DEBUG=1``). Messages are redacted by the caller.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterator

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from unimeter.connectors.contract import CredentialsShapeError
from unimeter.connectors.errors import (
    ConnectorError,
    CredentialsRejectedError,
    SourceAuthError,
    SourceError,
    SourceUnavailableError,
    StreamUnavailableError,
    VendorUnavailableError,
)
from unimeter.connectors.registry import UnknownIntegrationError
from unimeter.db.migrate import MigrationError
from unimeter.kit.crypto import SecretError
from unimeter.kit.keys import ENV_VAR as KEY_ENV_VAR
from unimeter.runtime import StartupError
from unimeter.sync.engine.report import SyncAuthError, SyncBusyError
from unimeter.tenancy.errors import AccountNotFoundError, EnvironmentNotFoundError

DEBUG_ENV = "UNIMETER_DEBUG"
DEBUG_HINT = f"run again with --debug (or {DEBUG_ENV}=1) for the traceback"
MAX_DETAIL = 400

Family = type[BaseException] | tuple[type[BaseException], ...]


# The families below are imported on the first failure, not when the CLI starts: some
# belong to commands (reports, the demo, the job queue) and to a driver (psycopg) that
# most runs never load, and importing them cost every command a part of a second.
@functools.cache
def _expected() -> tuple[type[BaseException], ...]:
    """Errors whose message already says what happened and what to do, in one line."""
    from unimeter.analytics.service import ScopeNotFoundError
    from unimeter.auth.service import EnvironmentExistsError, TokenNotFoundError
    from unimeter.demo import DemoError
    from unimeter.sync.scheduling.queue import QueueUnavailableError

    return (
        StartupError,
        AccountNotFoundError,
        EnvironmentNotFoundError,
        EnvironmentExistsError,
        TokenNotFoundError,
        ScopeNotFoundError,
        CredentialsRejectedError,
        CredentialsShapeError,
        UnknownIntegrationError,
        SyncBusyError,
        QueueUnavailableError,
        DemoError,
    )


@functools.cache
def _database_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (DBAPIError, PoolTimeoutError, psycopg.Error, sqlite3.Error, MigrationError)


_REAUTH = (
    # No colon after "credentials": the redacting filter would take what follows for one.
    "the account now needs new credentials; PATCH /integrated-accounts/{id} with them "
    "(they are validated first)"
)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def explain(exc: BaseException) -> str:
    """One line for ``exc`` (without the ``error:`` prefix).

    An exception that is not known itself is explained by the first known one it was
    raised ``from``: a connector's private wrapper says no more than the vendor error
    inside. (Not by one it merely met while handling another: that is a bug of its own.)
    """
    for link in _chain(exc):
        line = _known(link)
        if line is not None:
            return line
    return internal(exc)


def internal(exc: BaseException) -> str:
    return f"internal error ({type(exc).__name__}): {detail(exc)}; {DEBUG_HINT}"


def is_database_error(exc: BaseException) -> bool:
    """The store itself failed: nothing else this process does can succeed either."""
    return isinstance(exc, _database_errors()) or (
        isinstance(exc, OSError) and exc.filename is not None
    )


def detail(exc: BaseException) -> str:
    """The exception's message on one line, shortened."""
    text = " ".join(str(exc).split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def _known(exc: BaseException) -> str | None:
    for family, describe in _explainers():
        if isinstance(exc, family):
            return describe(exc)
    return None


def _plain(exc: BaseException) -> str:
    return detail(exc)


def _vendor_unreachable(exc: BaseException) -> str:
    return f"{detail(exc)}; check the base URL and the network, then try again"


def _source(exc: BaseException) -> str:
    if isinstance(exc, SourceAuthError):
        return f"{detail(exc)}; {_REAUTH}"
    if isinstance(exc, SourceUnavailableError):
        return f"{detail(exc)}; the next sync resumes where this one stopped"
    if isinstance(exc, StreamUnavailableError):
        return f"{detail(exc)}; the account's plan does not include this part of the API"
    return detail(exc)


def _sync_auth(exc: BaseException) -> str:
    text = detail(exc)
    return text if "needs new credentials" in text else f"{text}; {_REAUTH}"


def _database(exc: BaseException) -> str:
    if isinstance(exc, MigrationError):
        return f"database migration failed: {detail(exc)}"
    if isinstance(exc, PoolTimeoutError):
        return "the database did not hand out a connection in time (every one is busy); try again"
    # SQLAlchemy's own text adds the statement and its parameters: only the driver's
    # message is shown.
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    # Drivers add advice on further lines ("Is the server running…?"): the hint says it.
    lines = [line for line in str(original).splitlines() if line.strip()]
    text = " ".join(lines[0].split())[:MAX_DETAIL] if lines else type(original).__name__
    lowered = text.lower()
    if "database is locked" in lowered or "database table is locked" in lowered:
        return (
            "the database is locked by another process and the wait for it ran out "
            "(UNIMETER_SQLITE_BUSY_TIMEOUT_MS, 60000 by default); try again once it is done"
        )
    if "unable to open database file" in lowered or "readonly database" in lowered:
        return (
            f"cannot open the SQLite database ({text}): check that the directory in "
            "UNIMETER_DATA_DIR (or UNIMETER_DATABASE_URL) exists and is writable"
        )
    import psycopg  # loaded already when this is a PostgreSQL error

    if isinstance(original, psycopg.OperationalError) and _never_connected(exc):
        return (
            f"cannot connect to the database: {text}; check UNIMETER_DATABASE_URL and that "
            "PostgreSQL is running"
        )
    return f"database error ({type(original).__name__}): {text}; {DEBUG_HINT}"


def _never_connected(exc: BaseException) -> bool:
    # A failure to connect carries no statement; one that broke mid-query does.
    return not isinstance(exc, DBAPIError) or exc.statement is None


def _os_error(exc: BaseException) -> str:
    assert isinstance(exc, OSError)
    if exc.filename is None:
        return f"{type(exc).__name__}: {detail(exc)}"
    reason = exc.strerror or type(exc).__name__
    return f"cannot use {exc.filename}: {reason}; check the path and its permissions"


def _secret(exc: BaseException) -> str:
    return (
        f"cannot use a stored secret: {detail(exc)}; check the master key "
        f"({KEY_ENV_VAR} or secret.key in the data directory)"
    )


def _settings(exc: BaseException) -> str:
    assert isinstance(exc, ValidationError)
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    if exc.title == "Settings":
        return f"invalid setting UNIMETER_{field.upper()}: {first['msg']}"
    return internal(exc)


Explainer = Callable[[BaseException], str]


@functools.cache
def _explainers() -> tuple[tuple[Family, Explainer], ...]:
    return (
        (_expected(), _plain),
        (VendorUnavailableError, _vendor_unreachable),
        (SourceError, _source),
        (SyncAuthError, _sync_auth),
        # Any other connector error (a connector maps its client's errors onto this family).
        (ConnectorError, _plain),
        (_database_errors(), _database),
        (SecretError, _secret),
        (OSError, _os_error),
        (ValidationError, _settings),
    )
