"""Inserting many new rows at once, the fastest way each backend offers.

PostgreSQL: ``COPY … FROM STDIN`` in the caller's transaction, several times faster than
a multi-row ``INSERT`` (no statement to parse per batch, no parameter per value). Only
for rows the caller has just established are new, under the account's sync lease: a
conflict would fail the whole unit of work, never write a duplicate. SQLite: the driver's
own ``executemany`` (one prepared statement stepped per row), without SQLAlchemy's bind
processing per value, which cost more than SQLite's insert itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Date, Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.sqlite_bulk import prepare_bulk_unit


async def insert_rows(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows``, each the values of the columns ``names`` in that order; the table's
    other columns take their scalar defaults (the id and callables: the database's).

    Rows as tuples, not dicts: a backfill's millions of rows cost one tuple each, with no
    lookup per column to put the values in the driver's order. ``rows`` may be a generator:
    on PostgreSQL each row is then made while the server stores the ones sent before it
    (the caller knows whether there are any: an empty generator still costs a COPY)."""
    if isinstance(rows, Sequence) and not rows:
        return
    connection = await session.connection()
    columns = _columns(table, names)
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    quoted = ", ".join(f'"{name}"' for name, _, _ in columns)
    defaults = tuple(default for _, default, _ in columns[len(names) :])
    if connection.dialect.name == "postgresql":
        statement = f'COPY "{table.name}" ({quoted}) FROM STDIN'
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for values in _values(rows, columns, defaults, dates=False):
                await copy.write_row(values)
        return
    # SQLite: the driver's executemany, without a bind processor per value.
    await prepare_bulk_unit(connection)
    marks = ", ".join("?" * len(columns))
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({marks})'
    await driver.executemany(statement, list(_values(rows, columns, defaults, dates=True)))


async def plan_each_statement(session: AsyncSession) -> None:
    """On PostgreSQL, plan every statement of this transaction for its own values.

    psycopg prepares a statement after five runs, and PostgreSQL may then keep one generic
    plan for it. A plan made while a backfill's table was nearly empty (a scan) stayed
    chosen at 100,000 rows: the stored-events lookup of each chunk went from milliseconds
    to 0.76 s. Only for the bulk writes: planning every statement everywhere slowed the
    scheduler's many small syncs.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def sort_in_memory(session: AsyncSession) -> None:
    """On PostgreSQL, let this transaction's sorts and hashes use up to ``SORT_MEMORY``.

    Rebuilding a month of rollups groups every event of the month: with the server's default
    of 4 MB, 93,000 events sorted through a 14 MB file on disk. Only for the transaction
    (``SET LOCAL``): the server's setting holds for every other session.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))


SORT_MEMORY = "64MB"


def _values(
    rows: Iterable[Sequence[Any]],
    columns: list[tuple[str, Any, type | None]],
    defaults: tuple[Any, ...],
    *,
    dates: bool,
) -> Iterator[list[Any]]:
    """Each row's values, then the defaults: JSON as text, and (for SQLite) dates as ISO
    text, as SQLAlchemy's own types store them."""
    converted = [
        (i, kind) for i, (_, _, kind) in enumerate(columns) if kind is JSON or (dates and kind)
    ]
    for row in rows:
        values = [*row, *defaults]
        for i, kind in converted:
            value = values[i]
            if value is not None:
                values[i] = orjson.dumps(value).decode() if kind is JSON else value.isoformat()
        yield values


def _columns(table: Table, names: Sequence[str]) -> list[tuple[str, Any, type | None]]:
    """(name, scalar default, JSON or Date or None) of the given columns, in their order,
    then of every other column with a scalar default; the rest (the id, callables) are
    left to the database."""
    given = {name: i for i, name in enumerate(names)}
    out: list[tuple[str, Any, type | None]] = [("", None, None)] * len(names)
    for column in table.columns:
        default = column.default
        scalar = default is not None and default.is_scalar
        if column.key in given or scalar:
            value = getattr(default, "arg", None) if scalar and column.key not in given else None
            kind = next((k for k in (JSON, Date) if isinstance(column.type, k)), None)
            entry = (column.key, value, kind)
            if column.key in given:
                out[given[column.key]] = entry
            else:
                out.append(entry)
    if missing := [
        name for name, (key, _, _) in zip(names, out[: len(names)], strict=True) if key != name
    ]:
        raise ValueError(f"{table.name} has no column {missing[0]!r}")
    return out
