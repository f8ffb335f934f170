"""Opaque, tamper-evident pagination cursors.

A cursor carries the keyset position of the last row served, which direction to go, and a
fingerprint of the query it belongs to; it is signed with a key derived from the master key.
A modified cursor, or one replayed against a different query, is refused rather than
silently returning the wrong page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

import orjson

Direction = Literal["next", "prev"]


class InvalidCursorError(ValueError):
    """The cursor was not issued by us for this query (or was altered)."""


@dataclass(frozen=True, slots=True)
class Position:
    key: list[Any]
    direction: Direction


def query_fingerprint(params: dict[str, Any]) -> str:
    """A short digest of the filters a cursor is valid for."""
    canonical = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, key: list[Any], direction: Direction, query: str) -> str:
        body = _b64(orjson.dumps({"k": key, "d": direction, "q": query}))
        return f"{body}.{self._sign(body)}"

    def decode(self, cursor: str, query: str) -> Position:
        body, dot, signature = cursor.partition(".")
        expected = self._sign(body).encode()
        if not dot or not hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
            raise InvalidCursorError("the cursor is invalid or was modified")
        try:
            payload = orjson.loads(_unb64(body))
            key, direction, issued_for = payload["k"], payload["d"], payload["q"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidCursorError("the cursor is invalid or was modified") from exc
        if issued_for != query:
            raise InvalidCursorError("the cursor belongs to a different query")
        if direction not in ("next", "prev") or not isinstance(key, list):
            raise InvalidCursorError("the cursor is invalid or was modified")
        return Position(key=key, direction=direction)

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:18]
        return _b64(digest)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
