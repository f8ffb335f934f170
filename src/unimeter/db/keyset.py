"""Keyset pagination: ``WHERE (sort key) > (last key) ORDER BY sort key LIMIT n + 1``.

Offsets skip or repeat rows when data changes between pages and make the database count
everything before the page; a keyset walk does neither, provided the sort key is never
rewritten for an existing row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_

from unimeter.kit.cursors import Position

T = TypeVar("T")


def apply(
    stmt: Select[Any],
    columns: Sequence[Any],
    position: Position | None,
    limit: int,
    *,
    descending: bool = False,
) -> Select[Any]:
    """Filter and order ``stmt`` for one page (``limit + 1`` rows, to learn if more exist)."""
    backwards = position is not None and position.direction == "prev"
    ascending = descending == backwards  # walking back through a descending list goes up
    if position is not None:
        key = tuple_(*columns)
        bound = tuple_(*position.key)
        after = key < bound if descending else key > bound
        before = key > bound if descending else key < bound
        stmt = stmt.where(before if backwards else after)
    order = [c.asc() if ascending else c.desc() for c in columns]
    return stmt.order_by(*order).limit(limit + 1)


@dataclass(frozen=True, slots=True)
class PageSlice(Generic[T]):
    items: list[T]
    next_key: list[Any] | None
    prev_key: list[Any] | None


def slice_page(
    rows: Sequence[T], limit: int, position: Position | None, key: Callable[[T], list[Any]]
) -> PageSlice[T]:
    more = len(rows) > limit
    items = list(rows[:limit])
    if position is not None and position.direction == "prev":
        items.reverse()
        return PageSlice(
            items=items,
            next_key=key(items[-1]) if items else None,
            prev_key=key(items[0]) if more and items else None,
        )
    return PageSlice(
        items=items,
        next_key=key(items[-1]) if more and items else None,
        prev_key=key(items[0]) if position is not None and items else None,
    )
