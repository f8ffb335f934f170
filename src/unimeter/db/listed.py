"""``column IN (values)`` with the values bound as one JSON array.

SQLAlchemy's expanding ``IN`` renders a placeholder per value and runs every value through
its type's bind processor on each execution: a usage page's hundred (day, user) keys and
users cost ~0.7 ms of Python per request before SQLite saw the statement, more than most of
its queries took. Bound as one JSON text, the list is serialised once (orjson, in C) and the
statement text never changes with the list's length. The database unpacks it:

- SQLite: ``x IN (SELECT value FROM json_each(?))``; pairs compare as row values.
- PostgreSQL: the same over ``json_array_elements``, cast to the columns' types.

Both still seek the columns' indexes: the list is a subquery the planner reads first.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Boolean, Text, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator


class _JsonList(TypeDecorator[Any]):
    """A list of values (or of tuples) bound as JSON text; dates as ``YYYY-MM-DD``, the
    text SQLite stores them as."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else orjson.dumps(list(value)).decode()


class InListed(ColumnElement[bool]):
    """``column IN`` the values bound under ``name`` (a list), or ``(columns) IN`` them
    when ``rows`` (a list of tuples, one value per column)."""

    __visit_name__ = "in_listed"
    inherit_cache = True
    _traverse_internals = [
        ("columns", InternalTraversal.dp_clauseelement_tuple),
        ("values", InternalTraversal.dp_clauseelement),
        ("rows", InternalTraversal.dp_boolean),
    ]
    type = Boolean()

    def __init__(self, columns: tuple[Any, ...], name: str, rows: bool) -> None:
        self.columns = columns
        self.values = bindparam(name, type_=_JsonList())
        self.rows = rows


def in_listed(columns: Any, name: str) -> InListed:
    """``columns`` (one column, or a tuple of them) IN the list bound as ``name`` (of
    values, or of tuples for a tuple of columns)."""
    if isinstance(columns, tuple | list):
        return InListed(tuple(columns), name, rows=True)
    return InListed((columns,), name, rows=False)


def _left(element: InListed, compiler: SQLCompiler, **kw: Any) -> str:
    names = [compiler.process(column, **kw) for column in element.columns]
    return f"({', '.join(names)})" if element.rows else names[0]


@compiles(InListed, "sqlite")
def _sqlite(element: InListed, compiler: SQLCompiler, **kw: Any) -> str:
    values = compiler.process(element.values, **kw)
    if not element.rows:
        listed = f"SELECT value FROM json_each({values})"
    else:
        picks = ", ".join(f"value ->> {i}" for i in range(len(element.columns)))
        listed = f"SELECT {picks} FROM json_each({values})"
    return f"{_left(element, compiler, **kw)} IN ({listed})"


@compiles(InListed, "postgresql")
def _postgresql(element: InListed, compiler: SQLCompiler, **kw: Any) -> str:
    values = compiler.process(element.values, **kw)
    types = [compiler.dialect.type_compiler_instance.process(c.type) for c in element.columns]
    if not element.rows:
        listed = f"SELECT CAST(v AS {types[0]}) FROM json_array_elements_text(CAST({values} AS json)) AS v"
    else:
        picks = ", ".join(f"CAST(v ->> {i} AS {t})" for i, t in enumerate(types))
        listed = f"SELECT {picks} FROM json_array_elements(CAST({values} AS json)) AS v"
    return f"{_left(element, compiler, **kw)} IN ({listed})"
