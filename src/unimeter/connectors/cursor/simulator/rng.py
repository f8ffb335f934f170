"""Stable, process-independent hashing and id derivation for the simulator.

Python's ``hash()`` is salted per process, so everything that must be identical across runs
(ids, per-event jitter, fault decisions) goes through these helpers instead.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

MASK64 = (1 << 64) - 1
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def stable_int(*parts: int | str) -> int:
    """A 64-bit integer derived from ``parts``; the same in every process."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def mix64(value: int) -> int:
    """SplitMix64 finaliser: a cheap bijective scramble of a 64-bit integer."""
    x = (value + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def mix64_array(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Vectorised :func:`mix64`; numpy's uint64 arithmetic wraps like the scalar mask."""
    x = values + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def unit_interval(value: int) -> float:
    """Map a 64-bit integer to [0, 1)."""
    return (value >> 11) / float(1 << 53)


def base62(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def token_string(length: int, *parts: int | str) -> str:
    """A deterministic base62 string of ``length`` characters."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return base62(int.from_bytes(digest, "big"), length)


def uuid_from(a: int, b: int) -> str:
    """Format two 64-bit values as a version-4-shaped UUID string."""
    hi = (a & 0xFFFFFFFFFFFF0FFF) | 0x0000000000004000
    lo = (b & 0x3FFFFFFFFFFFFFFF) | 0x8000000000000000
    h = f"{hi:016x}{lo:016x}"
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
