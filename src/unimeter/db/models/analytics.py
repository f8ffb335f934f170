"""Per-account settings the analyses need and Cursor does not expose (a seat's price)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ..base import Base, now_ms


class AnalyticsSettings(Base):
    __tablename__ = "analytics_settings"

    account_id: Mapped[str] = mapped_column(
        ForeignKey("integrated_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # Monthly price of one seat, in cents * 10**6; unknown until someone sets it.
    seat_price_cents_e6: Mapped[int | None] = mapped_column(BigInteger)
    # Anomaly thresholds that differ from the documented defaults.
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=now_ms, onupdate=now_ms)
