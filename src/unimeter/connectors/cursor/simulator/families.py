"""How each API family differs at the edges: auth schemes, error bodies, HTTP caching."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

# Analytics and AI Code Tracking responses may be cached for 15 minutes (cursor-api.md §1.8).
CACHE_CONTROL = "public, max-age=900"


@dataclass(frozen=True, slots=True)
class Payload:
    """A response body that is not JSON (the AI Code Tracking CSV exports)."""

    content: bytes
    media_type: str = "text/csv; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Family:
    unauthorized: dict[str, Any]
    rate_limited: dict[str, Any]
    # Cloud Agents also accept ``Authorization: Bearer <key>``.
    bearer: bool = False
    # An ``ETag`` on every 200, and 304 for a matching ``If-None-Match``.
    etag: bool = False


_UNAUTHORIZED = {"error": "Unauthorized", "message": "Invalid API key"}
_TOO_MANY = {
    "error": "Too Many Requests",
    "message": "Rate limit exceeded. Please try again later.",
}

ADMIN = Family(_UNAUTHORIZED, {"code": "error", "message": "Rate limit exceeded"})
ANALYTICS = Family(_UNAUTHORIZED, _TOO_MANY, etag=True)
# The v0 OpenAPI error envelope; v1's is undocumented and assumed the same (§11.9).
CLOUD_AGENTS = Family(
    {"error": {"code": "unauthorized", "message": "Invalid API key"}},
    {"error": {"code": "rate_limit_exceeded", "message": "Rate limit exceeded"}},
    bearer=True,
)


def cloud_error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message}}


def etag_of(content: bytes) -> str:
    """A strong validator: the same bytes always give the same tag."""
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, tag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    # Weak comparison, as RFC 9110 prescribes for If-None-Match.
    return any(c == "*" or c.removeprefix("W/") == tag for c in candidates)
