"""Exact money: amounts are stored as cents * 10**6 (integers) and shown as decimal dollars."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

CENTS_E6_PER_DOLLAR = Decimal(100_000_000)


def dollars(cents_e6: int) -> str:
    """Millionths of a cent → an exact decimal amount of dollars, as text."""
    value = (Decimal(cents_e6) / CENTS_E6_PER_DOLLAR).normalize()
    return format(value, "f")


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
