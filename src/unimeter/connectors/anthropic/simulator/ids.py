"""Stable hashing, tagged ids, key shapes and timestamps for the simulator.

Python's ``hash()`` is salted per process, so everything that must be identical across runs
(ids, per-day draws, fault decisions) goes through these helpers instead.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

MASK64 = (1 << 64) - 1
# Base58 in ascending ASCII order, so fixed-width encodings sort like the numbers they hold.
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_DAY_MS = 86_400_000


def stable_int(*parts: int | str) -> int:
    """A 64-bit integer derived from ``parts``; the same in every process."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def unit_interval(value: int) -> float:
    """Map a 64-bit integer to [0, 1)."""
    return (value >> 11) / float(1 << 53)


def base58(value: int, length: int) -> str:
    """``value`` in exactly ``length`` base58 digits, most significant first."""
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 58)
        chars.append(BASE58[digit])
    return "".join(reversed(chars))


def tagged_id(tag: str, created_ms: int, *parts: int | str) -> str:
    """An id like ``user_01WCz1FkmYMm4gnmykNKUu3Q``: ``01`` + 22 base58 characters whose
    first 6 encode the creation time (seconds), so sorting ids sorts by creation (stable paging)."""
    digest = int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest(), "big")
    stamp = base58(max(0, created_ms) // 1000, 6)
    return f"{tag}_01{stamp}{base58(digest, 16)}"


def random_base58(length: int, *parts: int | str) -> str:
    """``length`` base58 characters derived from ``parts``."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return base58(int.from_bytes(digest, "big"), length)


def uuid_from(*parts: int | str) -> str:
    """A version-4-shaped UUID derived from ``parts``."""
    raw = bytearray(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def url_safe(length: int, *parts: int | str) -> str:
    """``length`` url-safe base64 characters derived from ``parts``."""
    out = ""
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256("\x1f".join(map(str, (*parts, counter))).encode()).digest()
        out += base64.urlsafe_b64encode(digest).decode().rstrip("=")
        counter += 1
    return out[:length]


def admin_key_for(seed: int, *salt: int | str) -> str:
    """An Admin API key shaped like Anthropic's: ``sk-ant-admin01-`` + 93 url-safe chars."""
    return "sk-ant-admin01-" + url_safe(93, "unimeter-anthropic-admin", seed, *salt)


def api_key_for(seed: int, *salt: int | str) -> str:
    """A normal API key (``sk-ant-api03-…AA``): it authenticates, but not for admin paths."""
    return "sk-ant-api03-" + url_safe(93, "unimeter-anthropic-api", seed, *salt) + "AA"


def rfc3339(ms: int) -> str:
    """``2026-03-02T17:04:11Z`` (whole seconds, UTC), as the Admin API writes times."""
    return datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_of(ms: int) -> int:
    """The UTC day number (days since the epoch) holding ``ms``."""
    return ms // _DAY_MS


def day_date(day: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + day)


def date_day(value: date) -> int:
    return value.toordinal() - date(1970, 1, 1).toordinal()
