"""Reads that hand a statement straight to SQLite's inline reader connection.

An API read is a handful of short statements, and SQLAlchemy's work around each (the
session's execute, the compiled cache, expanding ``IN`` lists value by value, result
processing) cost ~0.15 ms of Python a statement: more than SQLite spent answering most of
them. :func:`rows` compiles a statement once, expands its ``IN`` lists by string joins and
runs it on the session's own connection, inside the session's transaction (so its snapshot
is the session's).

The rows hold the values the session's would (dates, booleans and JSON through their types'
result processors, applied only to the columns that have one). Other backends, and
statements this module does not handle (literal-rendered or lazily valued parameters,
tuple lists), take the session's ordinary path.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .sqlite_inline import InlineConnection
from .sqlite_readers import LENT, Lent

log = logging.getLogger(__name__)

_POSTCOMPILE = re.compile(r"__\[POSTCOMPILE_(\w+)\]")
# Statements are built once per shape (see unified.grouping.cached); past this many the
# oldest are compiled again when next used.
_MAX_PREPARED = 512


@dataclass(slots=True)
class _Prepared:
    parts: list[str]  # the SQL around each expanding list: parts[i], list i, parts[i + 1]...
    order: list[str]  # bind names in placeholder order
    expanding: frozenset[str]
    processors: Mapping[str, Callable[[Any], Any]]
    defaults: dict[str, Any]
    # The result columns with a processor, by position (the others are used as SQLite
    # returns them), and how many columns there are.
    results: list[tuple[int, Callable[[Any], Any]]]
    width: int
    row_type: Any = None
    marks: dict[int, str] = field(default_factory=dict)

    def bind(self, params: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
        """The SQL and its positional values; None when an expanding list is empty (the
        ordinary path renders the empty-set form)."""
        values = {**self.defaults, **params}
        args: list[Any] = []
        lengths: list[int] = []
        for name in self.order:
            value = values[name]
            process = self.processors.get(name)
            if name in self.expanding:
                if not value:
                    return None
                lengths.append(len(value))
                args.extend(value if process is None else [process(v) for v in value])
            else:
                args.append(value if process is None else process(value))
        if not lengths:
            return self.parts[0], args
        pieces = [self.parts[0]]
        for length, part in zip(lengths, self.parts[1:], strict=True):
            pieces.append(self._marks(length))
            pieces.append(part)
        return "".join(pieces), args

    def _marks(self, length: int) -> str:
        marks = self.marks.get(length)
        if marks is None:
            marks = self.marks[length] = ", ".join("?" * length)
        return marks


_READER = "unimeter.direct.reader"
_prepared: OrderedDict[int, tuple[Any, _Prepared | None]] = OrderedDict()


def _prepare(stmt: Any, dialect: Any) -> _Prepared | None:
    known = _prepared.get(id(stmt))
    if known is not None and known[0] is stmt:
        return known[1]
    try:
        prepared = _compile(stmt, dialect)
    except AttributeError:
        # This reads a few of SQLAlchemy's compiled-statement attributes (tests/db/
        # test_direct.py checks them); should a release rename one, reads take the
        # session's path rather than fail.
        log.warning("direct reads are off: this SQLAlchemy compiles differently")
        prepared = None
    if len(_prepared) >= _MAX_PREPARED:
        _prepared.popitem(last=False)
    # The statement is kept with its entry: its id cannot be reused while the entry lives.
    _prepared[id(stmt)] = (stmt, prepared)
    return prepared


def _compile(stmt: Any, dialect: Any) -> _Prepared | None:
    compiled = stmt.compile(dialect=dialect)
    binds = compiled.binds
    # Literal-rendered or lazily valued parameters, tuple lists, statements that return no
    # rows: the ordinary path.
    if (
        compiled.literal_execute_params
        or compiled.positiontup is None
        or not compiled._result_columns
        or any(
            b.callable is not None or (b.expanding and b.type._is_tuple_type)
            for b in binds.values()
        )
    ):
        return None
    expanding = frozenset(name for name, bind in binds.items() if bind.expanding)
    results = [c.type._cached_result_processor(dialect, None) for c in compiled._result_columns]
    processors = compiled._bind_processors
    return _Prepared(
        parts=_POSTCOMPILE.split(compiled.string)[::2],
        order=list(compiled.positiontup),
        expanding=expanding,
        processors={n: p for n, p in processors.items() if n in compiled.positiontup},
        defaults={name: bind.value for name, bind in binds.items() if not bind.required},
        results=[(i, process) for i, process in enumerate(results) if process is not None],
        width=len(results),
    )


async def _reader_of(session: AsyncSession) -> tuple[InlineConnection | None, Any]:
    """The session's inline SQLite connection (None on other backends) and its dialect.
    Kept on the session for as long as its transaction lasts: asking the session again
    (a greenlet switch) cost more than most of the statements read here. A transaction
    keeps its connection until it ends, and a new transaction asks anew. A lent SQLite
    reader (db/sqlite_readers.py) has its connection from the start."""
    lent: Lent | None = session.info.get(LENT)
    if lent is not None:
        return lent.begun(), lent.dialect
    transaction = session.sync_session.get_transaction()
    known = session.info.get(_READER)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1], known[2]
    connection = await session.connection()
    driver = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    inline = driver if isinstance(driver, InlineConnection) else None
    session.info[_READER] = (session.sync_session.get_transaction(), inline, connection.dialect)
    return inline, connection.dialect


async def rows(
    session: AsyncSession, stmt: Any, params: Mapping[str, Any] | None = None
) -> Sequence[Any]:
    """The rows of ``stmt`` (named tuples), read in ``session``'s transaction. For
    statements built once and reused (module constants, ``unified.grouping.cached``): a
    statement is compiled the first time it is seen, which costs more than the ordinary
    path would for a statement built anew on every call."""
    given = params or {}
    inline, dialect = await _reader_of(session)
    prepared = _prepare(stmt, dialect) if inline is not None else None
    bound = prepared.bind(given) if prepared is not None else None
    if inline is None or prepared is None or bound is None:
        return (await session.execute(stmt, given)).all()
    sql, args = bound
    cursor = inline.sqlite.execute(sql, args)
    if prepared.row_type is None:
        names = [column[0] for column in cursor.description]
        if len(names) != prepared.width:
            raise RuntimeError(f"{len(names)} columns where {prepared.width} were compiled")
        prepared.row_type = namedtuple("Row", names, rename=True)  # type: ignore[misc]
    make = prepared.row_type._make
    found = cursor.fetchall()
    if not prepared.results:
        return [make(row) for row in found]
    out = []
    for row in found:
        values = list(row)
        for i, process in prepared.results:
            values[i] = process(values[i])
        out.append(make(values))
    return out
