"""The list envelope ``{result, next_cursor, prev_cursor, result_count}`` and its cursors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from fastapi import Request
from pydantic import BaseModel

from unimeter.db.keyset import PageSlice
from unimeter.kit.cursors import CursorCodec, InvalidCursorError, Position, query_fingerprint

from .errors import bad_request

T = TypeVar("T")


class ListResponse(BaseModel, Generic[T]):
    result: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    result_count: int


def codec(request: Request) -> CursorCodec:
    cursors: CursorCodec = request.app.state.cursors
    return cursors


def read_cursor(request: Request, cursor: str | None, filters: dict[str, Any]) -> Position | None:
    if not cursor:
        return None
    try:
        return codec(request).decode(cursor, query_fingerprint(filters))
    except InvalidCursorError as exc:
        raise bad_request(str(exc)) from exc


def envelope(
    request: Request,
    page: PageSlice[Any],
    filters: dict[str, Any],
    render: Callable[[Any], Any],
) -> dict[str, Any]:
    fingerprint = query_fingerprint(filters)
    cursors = codec(request)
    result = [render(item) for item in page.items]
    return {
        "result": result,
        "next_cursor": cursors.encode(page.next_key, "next", fingerprint)
        if page.next_key
        else None,
        "prev_cursor": cursors.encode(page.prev_key, "prev", fingerprint)
        if page.prev_key
        else None,
        "result_count": len(result),
    }
