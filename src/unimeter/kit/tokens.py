"""Our own API tokens: a recognisable prefix, random body and checksum; stored as a hash.

The ``umk_`` prefix (``ulk_`` for the Connect page's link tokens) lets secret scanners and
our log redaction spot a leaked token; the CRC32 checksum rejects typos without a database
lookup. Only the SHA-256 of a token is stored: tokens carry 190 random bits, so a fast hash
is enough, and a leaked database cannot be turned back into working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib

PREFIX = "umk_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY = 32
_CHECK = 6


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK)


def generate(prefix: str = PREFIX) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY))
    return f"{prefix}{body}{_checksum(body)}"


def looks_valid(token: str, prefix: str = PREFIX) -> bool:
    """Shape and checksum only; says nothing about whether the token exists."""
    if not token.startswith(prefix) or len(token) != len(prefix) + _BODY + _CHECK:
        return False
    body, check = token[len(prefix) : -_CHECK], token[-_CHECK:]
    return all(c in _ALPHABET for c in body) and secrets.compare_digest(check, _checksum(body))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """Enough of a token to recognise it in a listing, nowhere near enough to use it."""
    return token[: len(PREFIX) + 6]
