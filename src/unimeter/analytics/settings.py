"""Per-account analytics settings: what vendors do not expose (a seat's price), who may be
an admin, and anomaly thresholds. Unset values fall back to documented defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unimeter.runtime import Runtime

from . import repository
from .schemas import AnomalyThresholds


@dataclass(frozen=True, slots=True)
class AccountSettings:
    seat_price_cents_e6: int | None = None
    allowed_admins: tuple[str, ...] | None = None
    anomaly: AnomalyThresholds = field(default_factory=AnomalyThresholds)


def _from_row(price: int | None, options: dict[str, Any]) -> AccountSettings:
    admins = options.get("allowed_admins")
    return AccountSettings(
        seat_price_cents_e6=price,
        allowed_admins=tuple(admins) if admins is not None else None,
        anomaly=AnomalyThresholds.model_validate(options.get("anomaly") or {}),
    )


async def get(runtime: Runtime, account_id: str) -> AccountSettings:
    async with runtime.db.reader() as session:
        row = await repository.get_settings(session, account_id)
    return _from_row(row.seat_price_cents_e6, row.options) if row else AccountSettings()


async def for_accounts(
    runtime: Runtime, account_ids: tuple[str, ...]
) -> dict[str, AccountSettings]:
    async with runtime.db.reader() as session:
        rows = await repository.settings_for(session, account_ids)
    return {
        a: _from_row(rows[a].seat_price_cents_e6, rows[a].options)
        if a in rows
        else AccountSettings()
        for a in account_ids
    }


async def update(runtime: Runtime, account_id: str, changes: dict[str, Any]) -> AccountSettings:
    """Apply ``changes`` (already validated): ``seat_price_cents_e6``, ``allowed_admins``
    (a list of emails or None) and ``anomaly`` (a thresholds dict or None)."""
    async with runtime.db.session() as session:
        row = await repository.get_or_add_settings(session, account_id)
        options = dict(row.options or {})
        if "seat_price_cents_e6" in changes:
            row.seat_price_cents_e6 = changes["seat_price_cents_e6"]
        for key in ("allowed_admins", "anomaly"):
            if key in changes:
                if changes[key] is None:
                    options.pop(key, None)
                else:
                    options[key] = changes[key]
        row.options = options
        return _from_row(row.seat_price_cents_e6, options)
