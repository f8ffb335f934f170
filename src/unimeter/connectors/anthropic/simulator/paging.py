"""The two paging schemes: id cursors for lists, opaque page tokens for reports."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from .errors import bad_request
from .params import Query

ID_LIMIT_DEFAULT = 20
ID_LIMIT_MAX = 1000


def id_page(items: list[dict[str, Any]], query: Query, *, prefix: str) -> dict[str, Any]:
    """One page of an id-cursor list. ``items`` are in their stable order (ascending id):
    ``after_id`` pages forward, ``before_id`` backward; ``has_more`` is "more in the
    direction asked"."""
    limit = query.limit(ID_LIMIT_DEFAULT, ID_LIMIT_MAX)
    after, before = query.get("after_id"), query.get("before_id")
    if after and before:
        raise bad_request("after_id and before_id are mutually exclusive")
    for cursor in (after, before):
        if cursor and not cursor.startswith(prefix):
            raise bad_request(f"Invalid cursor: expected an id starting with {prefix!r}")
    key: Callable[[dict[str, Any]], str] = lambda item: str(item["id"])  # noqa: E731
    if before:
        earlier = [item for item in items if key(item) < before]
        data, has_more = earlier[-limit:], len(earlier) > limit
    else:
        later = [item for item in items if not after or key(item) > after]
        data, has_more = later[:limit], len(later) > limit
    return {
        "data": data,
        "has_more": has_more,
        "first_id": key(data[0]) if data else None,
        "last_id": key(data[-1]) if data else None,
    }


def _fingerprint(kind: str, query: Query) -> str:
    return hashlib.sha256(f"{kind}?{query.canonical()}".encode()).hexdigest()[:16]


def encode_token(kind: str, query: Query, position: int | str) -> str:
    """An opaque ``page_…`` token: base64 of where to resume and of the query it belongs to."""
    raw = orjson.dumps({"p": position, "q": _fingerprint(kind, query)})
    return "page_" + base64.urlsafe_b64encode(raw).decode()


def decode_token(kind: str, query: Query) -> int | str | None:
    """Where the request's ``page`` resumes, or ``None`` without one; 400 when the token is
    malformed or was issued for another query."""
    token = query.get("page")
    if not token:
        return None
    try:
        if not token.startswith("page_"):
            raise ValueError(token)
        payload = orjson.loads(base64.urlsafe_b64decode(token[5:].encode()))
        position, fingerprint = payload["p"], payload["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise bad_request("Invalid page token") from exc
    if fingerprint != _fingerprint(kind, query) or not isinstance(position, int | str):
        raise bad_request("The page token does not match this query; start again without it")
    return position
