"""Request validation with Cursor's error bodies."""

from __future__ import annotations

from typing import Any

import orjson


class CursorHTTPError(Exception):
    """An error answered with ``status`` and a Cursor-shaped JSON ``body``."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(body.get("message") or body.get("error"))
        self.status = status
        self.body = body
        self.headers = headers or {}


def bad_request(message: str) -> CursorHTTPError:
    return CursorHTTPError(400, {"error": "Bad Request", "message": message})


def not_found(message: str) -> CursorHTTPError:
    return CursorHTTPError(404, {"error": "Not Found", "message": message})


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("Invalid JSON in request body") from exc
    if not isinstance(parsed, dict):
        raise bad_request("Request body must be a JSON object")
    return parsed


def optional_int(
    body: dict[str, Any], name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """An integral JSON number, or ``None`` when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"{name} must be a number")
    if isinstance(value, float) and not value.is_integer():
        raise bad_request(f"{name} must be an integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise bad_request(f"{name} must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise bad_request(f"{name} must be at most {maximum}")
    return number


def optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    return value


def query_int(
    params: dict[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise bad_request(f"{name} must be an integer") from exc
    if not minimum <= number <= maximum:
        raise bad_request(f"{name} must be between {minimum} and {maximum}")
    return number
