"""HTTP Basic authentication for Cursor's team APIs: the API key is the user name."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx


class CursorBasicAuth(httpx.Auth):
    """``Authorization: Basic base64("<key>:")``, the documented scheme (``curl -u KEY:``).

    As an ``httpx.Auth`` it is applied to every request httpx sends, retries included.
    Only the encoded header and a masked hint are kept, so neither ``repr`` nor a debugger's
    view of the object shows the key in clear.
    """

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("a Cursor API key is required")
        self._header = f"Basic {basic_token(api_key)}"
        self._hint = mask_key(api_key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"CursorBasicAuth(key={self._hint})"


def basic_token(api_key: str) -> str:
    """The credential part of the header: ``base64("<key>:")`` (empty password)."""
    return base64.b64encode(f"{api_key}:".encode()).decode("ascii")


def mask_key(api_key: str) -> str:
    """A hint that tells keys apart without revealing them: ``crsr_…3f2a`` or ``***``."""
    # Keys are 64 random characters after a prefix; four of them identify without exposing.
    # Short strings are not real keys, and their last four would be most of the secret.
    if len(api_key) < 24:
        return "***"
    prefix, sep, _ = api_key.partition("_")
    shown = f"{prefix}{sep}" if sep and len(prefix) <= 8 else ""
    return f"{shown}…{api_key[-4:]}"
