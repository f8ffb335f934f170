"""When scheduled syncs happen: a fixed grid per account, offset by a stable jitter.

Each account's slots sit at ``phase + k * period``, where the phase comes from a hash of
the account id. A thousand accounts linked in the same minute therefore spread evenly
over the period instead of all hitting Cursor at :00, and an account's slots never drift,
so "once per period" holds exactly. A process that was down skips the missed slots
rather than firing them all at once.
"""

from __future__ import annotations

import hashlib

MIN_FREQUENCY_MINUTES = 15  # Cursor aggregates usage hourly; faster polling buys nothing
MAX_FREQUENCY_MINUTES = 7 * 24 * 60
DEFAULT_FREQUENCY_MINUTES = 60


def period_ms(frequency_minutes: int, minute_ms: int) -> int:
    return frequency_minutes * minute_ms


def phase_ms(account_id: str, period: int) -> int:
    digest = hashlib.sha256(account_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % period


def next_slot(account_id: str, period: int, after_ms: int) -> int:
    """The account's first slot strictly after ``after_ms``."""
    phase = phase_ms(account_id, period)
    slots_passed = (after_ms - phase) // period
    return phase + (slots_passed + 1) * period
