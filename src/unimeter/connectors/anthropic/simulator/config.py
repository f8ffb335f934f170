"""Configuration of a simulated Anthropic Admin API (one organization per admin key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .faults import Fault
from .ids import admin_key_for

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class Quirks:
    """Real-world behaviours of the API, each switchable; defaults are the realistic side."""

    # Undocumented fields on records and on response envelopes (clients must ignore them).
    extra_fields: bool = True
    # Claude Code row ``date``: RFC 3339 midnight (current docs) or ``YYYY-MM-DD`` (older).
    date_format: Literal["rfc3339", "date"] = "rfc3339"
    # Claude Code ``estimated_cost.amount`` as a float with fractional cents (``12.5``).
    fractional_cost: bool = False
    # Subscription (OAuth) rows left out of Claude Code analytics (claude-code issue #27780).
    subscription_missing: bool = False
    # Rows within a Claude Code day come in no particular order.
    shuffle_rows: bool = True


@dataclass(frozen=True, slots=True)
class AnthropicSimConfig:
    seed: int = 42
    # Simulated "now" in epoch ms; ``None`` follows the wall clock.
    now_ms: int | None = None
    users: int = 40
    # Data exists for the ``days`` UTC days before now's day (and the current, partial day).
    days: int = 120
    # (email, name) pairs of a company shared with another vendor's simulator; when given
    # they are the first organization's people (``users`` is then ignored for it).
    people: tuple[tuple[str, str], ...] = ()
    # Each key is a separate organization. Empty means one org with ``default_admin_key``.
    admin_keys: tuple[str, ...] = ()
    # What a normal (non-admin) API key gets on admin paths; the reference is unsure.
    non_admin_status: Literal[401, 403] = 403
    # Requests per (scaled) minute per organization; ``None`` switches limiting off.
    rate_limit_per_minute: int | None = 60
    # Wall-clock length of one rate-limit minute, so tests can run with 1-second minutes.
    minute_seconds: float = 60.0
    fault_rate: float = 0.0
    force_fault: Fault | None = None
    # ``revise()`` changes the costs of this many most recent complete days.
    revision_days: int = 3
    api_keys: int = 6
    # Named workspaces, besides the default one (which has no id).
    workspaces: int = 3
    quirks: Quirks = field(default_factory=Quirks)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.admin_keys or (default_admin_key(self.seed),)

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line message for an impossible configuration."""
        if not self.people and self.users < 3:
            raise ValueError("--users must be at least 3")
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        if self.api_keys < 3:
            raise ValueError("--api-keys must be at least 3")
        if self.workspaces < 1:
            raise ValueError("--workspaces must be at least 1")
        if self.revision_days < 0:
            raise ValueError("revision_days must not be negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("--fault-rate must be between 0 and 1")
        if self.minute_seconds <= 0:
            raise ValueError("--minute-seconds must be positive")
        if self.rate_limit_per_minute is not None and self.rate_limit_per_minute < 1:
            raise ValueError("--rate-limit-per-minute must be at least 1")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("admin keys must be distinct")
        if any(not k or any(c.isspace() for c in k) for k in self.keys):
            raise ValueError("an admin key must be non-empty and without spaces")
        emails = [email.lower() for email, _ in self.people]
        if len(set(emails)) != len(emails):
            raise ValueError("people must have distinct emails")
        if self.people and len(self.people) < 3:
            raise ValueError("at least 3 people are needed")


def default_admin_key(seed: int) -> str:
    """The key of the single organization simulated when no admin keys are given."""
    return admin_key_for(seed, "default")
