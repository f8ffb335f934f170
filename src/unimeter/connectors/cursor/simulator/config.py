"""Configuration of a simulated Cursor deployment (one or more teams)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from .faults import Fault
from .plans import PLANS, Plan

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

RateLimitMode = Literal["real", "off"]


@dataclass(frozen=True, slots=True)
class Quirks:
    """Real-world behaviours of the Cursor API; each is on by default and switchable."""

    # Events of removed members come back with an empty ``userEmail``.
    removed_user_email: bool = True
    # Costs of recent events change slightly on later reads (retroactive adjustment).
    cost_adjustments: bool = True
    # Cents carry many decimals (``7.912548``) instead of whole cents.
    fractional_cents: bool = True
    # Undocumented fields appear on records.
    extra_fields: bool = True
    # Events become visible up to a few hours after they happen (hourly aggregation).
    late_arrivals: bool = True
    # AI Code Tracking: a few commit hashes are served twice (amended / pushed twice).
    ai_code_repeats: bool = True
    # AI Code Tracking: ``nonAiLinesAdded/Deleted`` are sometimes null.
    ai_code_null_lines: bool = True
    # AI Code Tracking: members in privacy mode get changes without ``fileName``.
    privacy_mode: bool = True


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    seed: int = 42
    # Simulated "now" in epoch ms; ``None`` follows the wall clock.
    now_ms: int | None = None
    users: int = 40
    days: int = 120
    # How far back data is still returned; ``None`` means equal to ``days``.
    retention_days: int | None = None
    # Each key is a separate team with its own data. Empty means one team with a default key.
    api_keys: tuple[str, ...] = ()
    # Keys that authenticate but lack the ``admin:*`` scope: every endpoint answers 401.
    read_only_keys: tuple[str, ...] = ()
    # The teams' Cursor plan: ``team`` is refused the Enterprise-only endpoints (403).
    plan: Plan = "enterprise"
    # Teams on another plan than ``plan``, as (API key, plan) pairs.
    key_plans: tuple[tuple[str, Plan], ...] = ()
    rate_limits: RateLimitMode = "real"
    # Wall-clock length of one rate-limit minute, so tests can run with 1-second minutes.
    minute_seconds: float = 60.0
    fault_rate: float = 0.0
    # Answer every request (after authentication) with this fault: an outage, a revoked key.
    force_fault: Fault | None = None
    # Delay of an injected slow response.
    slow_seconds: float = 2.0
    # Multiplies every user's event rate (for large benchmark teams).
    activity_scale: float = 1.0
    # Events younger than this keep changing cost (when the quirk is on).
    adjustment_hours: int = 48
    # Conversation Insights enabled by an admin; off makes the endpoint answer 401.
    conversation_insights: bool = True
    # The data of the Enterprise APIs: AI Code Tracking's commits and changes, Analytics,
    # Cloud Agents. Off, those APIs still answer (the plan gates them as usual) but with no
    # rows: a team that uses none of it, and a test that does not need them syncs in a
    # fraction of the time (a team's AI changes and agent runs are many small reads).
    enterprise_apis: bool = True
    # The last days of the history that hold Enterprise data (None: all of it): a team that
    # turned on AI Code Tracking and the Analytics API that many days ago.
    enterprise_days: int | None = None
    # The last days of the history whose cloud agents still exist (None: all of them); the
    # older ones were deleted (their usage events remain, as at Cursor).
    agent_days: int | None = None
    quirks: Quirks = field(default_factory=Quirks)

    @property
    def effective_retention_days(self) -> int:
        return self.days if self.retention_days is None else self.retention_days

    def plan_of(self, key: str) -> Plan:
        """The plan of the team that ``key`` belongs to."""
        return dict(self.key_plans).get(key, self.plan)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.api_keys or (default_api_key(self.seed),)

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line message for an impossible configuration."""
        if self.users < 3:
            raise ValueError("--users must be at least 3 (a team needs owners and members)")
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        if self.effective_retention_days < 1:
            raise ValueError("--retention-days must be at least 1")
        if any(n is not None and n < 1 for n in (self.enterprise_days, self.agent_days)):
            raise ValueError("--enterprise-days and --agent-days must be at least 1")
        if any(p not in PLANS for p in (self.plan, *(p for _, p in self.key_plans))):
            raise ValueError(f"--plan must be one of {', '.join(PLANS)}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("--fault-rate must be between 0 and 1")
        if self.minute_seconds <= 0:
            raise ValueError("--minute-seconds must be positive")
        if self.activity_scale <= 0:
            raise ValueError("--activity-scale must be positive")
        if len(set(self.keys)) != len(self.keys):
            raise ValueError("--api-key values must be distinct")
        if set(self.keys) & set(self.read_only_keys):
            raise ValueError("a key cannot be both an --api-key and a --read-only-key")
        for option, keys in (("--api-key", self.keys), ("--read-only-key", self.read_only_keys)):
            if any(not key or any(c.isspace() or c == ":" for c in key) for key in keys):
                raise ValueError(f"an {option} must be non-empty, without spaces or ':'")


def default_api_key(seed: int) -> str:
    """The key of the single team simulated when no ``--api-key`` is given."""
    return "crsr_" + hashlib.sha256(f"unimeter-simulator:{seed}".encode()).hexdigest()
