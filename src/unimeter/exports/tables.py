"""Typed tables written as CSV or Parquet, streamed in chunks of bytes.

A table is a list of ``Column`` and rows of Python values in column order: ``str``,
``int``, ``Decimal`` (money, exact), ``datetime.date``, ``datetime.datetime`` (UTC),
``bool`` or ``None``. CSV writes decimals as plain decimal text with a point (``2.5``,
``0.0``, ``1234.0``), days as ``YYYY-MM-DD``, instants as ``YYYY-MM-DDTHH:MM:SSZ`` and null
as an empty field. Parquet keeps the types:
``date32``, ``timestamp[ms, UTC]``, ``int64``, ``bool``, ``string`` and ``decimal128(38,
scale)`` (money at scale 8: the store holds cents * 10**6, i.e. 10**-8 dollars, so every
amount fits exactly).

Parquet is written one row group at a time into a sink that hands its bytes on at once,
so neither format holds a whole export in memory. pyarrow is imported only when a Parquet
file is written; other commands do not pay for it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

Kind = Literal["string", "int", "decimal", "date", "timestamp", "bool"]
Format = Literal["csv", "parquet"]
Row = Sequence[object]

MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
# Rows per CSV chunk and per Parquet row group.
BATCH = 10_000
# Money: 10**-8 dollars, the store's resolution.
MONEY_SCALE = 8


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = True
    # Digits after the point, for decimals.
    scale: int = MONEY_SCALE


def text(value: object) -> str:
    """One CSV field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        digits = format(value.normalize(), "f") if value else "0"
        # Always a point: readers that infer column types (pandas, polars, DuckDB, the
        # FOCUS validator) would take a column of whole amounts or token counts for integers.
        return digits if "." in digits else digits + ".0"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


async def write(
    fmt: Format, columns: Sequence[Column], rows: AsyncIterable[Row]
) -> AsyncIterator[bytes]:
    """The table in ``fmt``, as chunks of bytes."""
    chunks = csv_chunks(columns, rows) if fmt == "csv" else parquet_chunks(columns, rows)
    async for chunk in chunks:
        if chunk:
            yield chunk


async def csv_chunks(columns: Sequence[Column], rows: AsyncIterable[Row]) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    count = 0
    async for row in rows:
        writer.writerow([text(v) for v in row])
        count += 1
        if count % BATCH == 0:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return data


class _Sink:
    """A write-only file for the Parquet writer whose bytes are taken as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def _arrow_type(pa: Any, column: Column) -> Any:
    return {
        "string": pa.string,
        "int": pa.int64,
        "bool": pa.bool_,
        "date": pa.date32,
        "timestamp": lambda: pa.timestamp("ms", tz="UTC"),
        "decimal": lambda: pa.decimal128(38, column.scale),
    }[column.kind]()


async def parquet_chunks(
    columns: Sequence[Column], rows: AsyncIterable[Row]
) -> AsyncIterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, _arrow_type(pa, c), nullable=c.nullable) for c in columns])
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        batch: list[Row] = []
        async for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                writer.write_table(_table(pa, schema, columns, batch))
                batch.clear()
                yield sink.take()
        if batch:
            writer.write_table(_table(pa, schema, columns, batch))
    finally:
        writer.close()
    yield sink.take()


def _table(pa: Any, schema: Any, columns: Sequence[Column], rows: list[Row]) -> Any:
    arrays = []
    for i, (column, field) in enumerate(zip(columns, schema, strict=True)):
        array = pa.array([row[i] for row in rows], type=field.type)
        if not column.nullable and array.null_count:
            raise ValueError(f"column {column.name} holds nulls but does not allow them")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=schema)
