"""Sending to a Slack incoming webhook: one JSON POST, success is a 2xx."""

from __future__ import annotations

from typing import Any

import httpx

from .errors import SendError


async def post(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> None:
    """POST ``body`` to the webhook ``url``; raises :class:`SendError` otherwise. The URL is
    the secret: it never goes into the error (httpx names it in some exceptions)."""
    try:
        response = await http.post(url, json=body)
    except httpx.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: the webhook did not answer") from None
    if not 200 <= response.status_code < 300:
        # Slack answers a short reason in plain text ("invalid_token", "no_service").
        reason = response.text[:100].replace(url, "<webhook url>")
        raise SendError(f"HTTP {response.status_code}: {reason}".rstrip(": "))
