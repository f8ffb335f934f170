"""Typed tables as CSV and Parquet: exact values, types, nulls, and streaming in chunks."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from unimeter.exports.focus import billing_period, money
from unimeter.exports.tables import BATCH, Column, Row, write

COLUMNS = (
    Column("day", "date", nullable=False),
    Column("at", "timestamp", nullable=False),
    Column("name", "string"),
    Column("count", "int", nullable=False),
    Column("amount", "decimal", nullable=False),
    Column("flag", "bool"),
)
ROWS: list[Row] = [
    (dt.date(2026, 5, 31), dt.datetime(2026, 5, 31, tzinfo=dt.UTC), "a, \"quoted\"", 3,
     money(123_456_789_012), True),
    (dt.date(2026, 6, 1), dt.datetime(2026, 6, 1, 12, 30, tzinfo=dt.UTC), None, 0, money(1),
     None),
    (dt.date(2026, 6, 2), dt.datetime(2026, 6, 2, tzinfo=dt.UTC), "", -1, money(-250_000_000),
     False),
]  # fmt: skip


async def _rows(rows: list[Row]) -> AsyncIterator[Row]:
    for row in rows:
        yield row


async def _collect(chunks: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in chunks]


def test_money_is_exact_dollars() -> None:
    assert money(123_456_789_012) == Decimal("1234.56789012")
    assert money(1) == Decimal("0.00000001")
    assert billing_period(dt.date(2026, 12, 31)) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert billing_period(dt.date(2024, 2, 29)) == (dt.date(2024, 2, 1), dt.date(2024, 3, 1))


async def test_csv_writes_plain_text_values() -> None:
    data = b"".join(await _collect(write("csv", COLUMNS, _rows(ROWS))))
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows == [
        ["day", "at", "name", "count", "amount", "flag"],
        ["2026-05-31", "2026-05-31T00:00:00Z", 'a, "quoted"', "3", "1234.56789012", "true"],
        ["2026-06-01", "2026-06-01T12:30:00Z", "", "0", "0.00000001", ""],
        ["2026-06-02", "2026-06-02T00:00:00Z", "", "-1", "-2.5", "false"],
    ]


async def test_csv_decimals_always_carry_a_point() -> None:
    """Whole amounts and counts still read as decimals in readers that infer column types."""
    columns = (Column("amount", "decimal", nullable=False),)
    values = [money(0), Decimal(1234), money(100_000_000), Decimal("-3"), Decimal("1E+3")]
    data = b"".join(await _collect(write("csv", columns, _rows([(v,) for v in values]))))
    assert data.decode().splitlines() == ["amount", "0.0", "1234.0", "1.0", "-3.0", "1000.0"]


async def test_parquet_keeps_types_and_exact_values() -> None:
    data = b"".join(await _collect(write("parquet", COLUMNS, _rows(ROWS))))
    table = pq.read_table(io.BytesIO(data))
    assert [(f.name, f.type, f.nullable) for f in table.schema] == [
        ("day", pa.date32(), False),
        ("at", pa.timestamp("ms", tz="UTC"), False),
        ("name", pa.string(), True),
        ("count", pa.int64(), False),
        ("amount", pa.decimal128(38, 8), False),
        ("flag", pa.bool_(), True),
    ]
    got = [tuple(r.values()) for r in table.to_pylist()]
    assert [r[0] for r in got] == [r[0] for r in ROWS]
    assert [r[1].astimezone(dt.UTC) for r in got] == [r[1] for r in ROWS]
    assert [r[2:] for r in got] == [tuple(r[2:]) for r in ROWS]


async def test_large_tables_stream_in_chunks() -> None:
    columns = (Column("n", "int", nullable=False), Column("amount", "decimal", nullable=False))
    rows: list[Row] = [(n, money(n * 1_000_003)) for n in range(2 * BATCH + 7)]
    for fmt in ("csv", "parquet"):
        chunks = await _collect(write(fmt, columns, _rows(rows)))
        assert len(chunks) >= 3, fmt  # one per batch, then the rest
        data = b"".join(chunks)
        if fmt == "parquet":
            table = pq.read_table(io.BytesIO(data))
            assert table.num_rows == len(rows)
            assert table.column("amount").to_pylist() == [r[1] for r in rows]
        else:
            assert data.decode().count("\n") == len(rows) + 1


async def test_empty_tables_still_have_a_header_or_schema() -> None:
    assert b"".join(await _collect(write("csv", COLUMNS, _rows([])))) == (
        b"day,at,name,count,amount,flag\n"
    )
    data = b"".join(await _collect(write("parquet", COLUMNS, _rows([]))))
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == 0 and table.schema.names == [c.name for c in COLUMNS]


async def test_parquet_refuses_nulls_where_a_column_allows_none() -> None:
    bad: list[Row] = [(dt.date(2026, 6, 1), dt.datetime(2026, 6, 1, tzinfo=dt.UTC), "x", None,
                       money(1), None)]  # fmt: skip
    with pytest.raises(ValueError, match="count"):
        await _collect(write("parquet", COLUMNS, _rows(bad)))
