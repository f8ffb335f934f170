"""Exact money: amounts are stored as cents * 10**6 (integers) and shown as decimal dollars."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENTS_E6_PER_DOLLAR = Decimal(100_000_000)


def dollars(cents_e6: int) -> str:
    """Millionths of a cent → an exact decimal amount of dollars, as text: ``"1.5"``, ``"0"``,
    ``"-0.00000001"``. By integer division (a usage page shows three amounts a record, and
    Decimal's division and normalize cost more than the rest of the record's money)."""
    whole, fraction = divmod(abs(cents_e6), _PER_DOLLAR)
    sign = "-" if cents_e6 < 0 else ""
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:08d}".rstrip("0")


_PER_DOLLAR = 100_000_000


def parse_dollars(text: str) -> int:
    """``"40"`` or ``"39.99"`` → cents * 10**6; ValueError unless a finite amount >= 0 with
    at most 8 decimal places (the store's resolution)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"not a non-negative amount: {text!r}")
    scaled = value * CENTS_E6_PER_DOLLAR
    if scaled != scaled.to_integral_value():
        raise ValueError(f"too many decimal places: {text!r}")
    return int(scaled)
