"""Final cost fields of events: retroactive adjustments and rounding.

Cursor adjusts the costs of recent events after the fact. Here an event's cost fields carry
a small factor that depends on a *revision*: the simulated hour, plus any manual bumps made
through the ground-truth API. Once an event is older than the adjustment window its revision
stops moving, so its values settle. With a frozen clock, repeated reads are identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .activity import MICRO, DayEvents
from .config import HOUR_MS
from .rng import mix64_array

I64 = npt.NDArray[np.int64]
_MAX_SWING = 0.06  # total width of the adjustment factor: +/- 3 %


@dataclass(frozen=True, slots=True)
class Priced:
    cost_micro: I64
    fee_micro: I64
    charged_micro: I64
    units_centi: I64


@dataclass(slots=True)
class Adjuster:
    enabled: bool
    window_ms: int
    fractional: bool
    bumps_ms: list[int] = field(default_factory=list)

    def price(self, events: DayEvents, idx: I64 | slice, now_ms: int) -> Priced:
        cost = events.cost_micro[idx]
        fee = events.fee_micro[idx]
        charged = events.charged_micro[idx]
        units = events.units_centi[idx].astype(np.int64)
        if self.enabled and cost.shape[0]:
            factor = self._factor(events.ts[idx], events.uid[idx], now_ms)
            token_billed = events.token_based[idx] & (charged > 0)
            cost = np.rint(cost * factor).astype(np.int64)
            fee = np.rint(fee * factor).astype(np.int64)
            units = np.rint(units * factor).astype(np.int64)
            charged = np.where(token_billed, cost + fee, np.rint(charged * factor)).astype(np.int64)
        if not self.fractional:
            token_billed = events.token_based[idx] & (charged > 0)
            cost = _whole_cents(cost)
            fee = _whole_cents(fee)
            charged = np.where(token_billed, cost + fee, _whole_cents(charged)).astype(np.int64)
        return Priced(cost_micro=cost, fee_micro=fee, charged_micro=charged, units_centi=units)

    def _factor(self, ts: I64, uid: npt.NDArray[np.uint64], now_ms: int) -> npt.NDArray[np.float64]:
        effective = np.minimum(ts + self.window_ms, now_ms)
        revision = effective // HOUR_MS
        if self.bumps_ms:
            revision = revision + np.searchsorted(
                np.array(self.bumps_ms, dtype=np.int64), effective, side="right"
            )
        code = mix64_array(uid ^ (revision.astype(np.uint64) * np.uint64(0x9E3779B1)))
        unit = (code >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return 1.0 + (unit - 0.5) * _MAX_SWING


def _whole_cents(micro: I64) -> I64:
    return ((micro + MICRO // 2) // MICRO * MICRO).astype(np.int64)


def cents(micro: int) -> int | float:
    """Micro-cents as the JSON number Cursor would send (integral when whole)."""
    whole, rest = divmod(micro, MICRO)
    return whole if rest == 0 else micro / MICRO
