"""``in_listed``: rows bound as one JSON text select what the same ``IN`` list would, on
each backend, for rows of one value (text, a date) and of (date, text)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, select

from unimeter.db.engine import Database
from unimeter.db.listed import in_listed

_meta = MetaData()
_T = Table(
    "listed_probe", _meta, Column("n", Integer, primary_key=True), Column("day", Date),
    Column("name", String(40)),
)  # fmt: skip
D1, D2 = dt.date(2026, 5, 1), dt.date(2026, 5, 2)
ROWS = [(1, D1, "ann"), (2, D1, "bob"), (3, D2, "ann"), (4, D2, "Ann"), (5, D2, "o'neil")]


async def _matches(db: Database, where: Any, values: list[Any]) -> list[int]:
    async with db.reader() as session:
        stmt = select(_T.c.n).where(where).order_by(_T.c.n)
        return list((await session.scalars(stmt, {"v": values})).all())


async def test_listed_values_and_rows_match_as_in_lists(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.run_sync(lambda s: _meta.create_all(s.connection()))
            await session.execute(
                _T.insert(), [dict(zip(("n", "day", "name"), r, strict=True)) for r in ROWS]
            )
        by_name = in_listed((_T.c.name,), "v")
        assert await _matches(db, by_name, [("ann",), ("o'neil",)]) == [1, 3, 5]
        assert await _matches(db, by_name, []) == []
        assert await _matches(db, in_listed((_T.c.day,), "v"), [(D2,)]) == [3, 4, 5]
        pairs = in_listed((_T.c.day, _T.c.name), "v")
        assert await _matches(db, pairs, [(D1, "bob"), (D2, "ann"), (D1, "zed")]) == [2, 3]
        assert await _matches(db, in_listed((_T.c.name,), "v"), [("Ann",)]) == [4]
    finally:
        async with db.session() as session:
            await session.run_sync(lambda s: _meta.drop_all(s.connection()))
        await db.dispose()
