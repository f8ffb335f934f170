"""Errors answered in Anthropic's shape:
``{"type":"error","error":{"type":…,"message":…},"request_id":"req_…"}``."""

from __future__ import annotations


class AnthropicHTTPError(Exception):
    """An error answered with ``status`` and an ``error.type`` of Anthropic's taxonomy."""

    def __init__(
        self, status: int, kind: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> AnthropicHTTPError:
    return AnthropicHTTPError(400, "invalid_request_error", message)


def not_found(message: str) -> AnthropicHTTPError:
    return AnthropicHTTPError(404, "not_found_error", message)


def error_body(kind: str, message: str, request_id: str) -> dict[str, object]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
