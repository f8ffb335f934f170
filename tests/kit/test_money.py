"""Exact money: the integer rendering of dollars equals Decimal's exact quotient."""

from __future__ import annotations

import random
from decimal import Decimal

from unimeter.kit.money import CENTS_E6_PER_DOLLAR, dollars, parse_dollars


def _by_decimal(cents_e6: int) -> str:
    return format((Decimal(cents_e6) / CENTS_E6_PER_DOLLAR).normalize(), "f")


def test_dollars_are_the_exact_decimal_quotient() -> None:
    rnd = random.Random(15)
    values = [0, 1, -1, 99, 10**8, -(10**8), 10**10, 150_000_000, 123_456_789, 10**20 + 5]
    values += [rnd.randint(-(10**15), 10**15) for _ in range(5_000)]
    values += [rnd.randint(0, 10**6) * 10 ** rnd.randint(0, 9) for _ in range(2_000)]
    for value in values:
        assert dollars(value) == _by_decimal(value), value


def test_dollars_read_back_to_the_same_amount() -> None:
    for value in (0, 1, 99, 150_000_000, 4_000_000_000, 123_456_789):
        assert parse_dollars(dollars(value)) == value
