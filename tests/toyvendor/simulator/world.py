"""Toy AI's organization: its members, its usage report and its audit log, generated
deterministically from a seed, one day at a time.

Money is generated in integer cents x 10**6 and only *served* as dollar strings, so the
ground truth (integers) and what a connector parses (strings) are computed independently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal

DAY_MS = 86_400_000

# ``legacy`` predates the audit log: its organizations get 404 for it, ``basic`` gets 403.
Plan = Literal["legacy", "basic", "enterprise"]

MODELS = ("toy-large", "toy-small", "toy-vision")
# Price per token in cents x 10**6 (input, output, cache read, cache write).
PRICES = {
    "toy-large": (300, 1500, 30, 375),
    "toy-small": (80, 400, 8, 100),
    "toy-vision": (500, 2000, 50, 625),
}
SEARCH_CENTS_E6 = 1_000_000  # one web search: a cent, charged on a row with no model
ROLES = ("owner", "admin", "member", "member", "billing", "member")
ACTIONS = ("member.invited", "api_key.created", "settings.changed", "export.downloaded")
API_KEY_ID = "key_ci_pipeline"


class Fault(StrEnum):
    """An answer forced on every request after authentication (a test's switch)."""

    UNAUTHORIZED = "401"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    RATE_LIMITED = "429"
    SERVER_ERROR = "500"


@dataclass(frozen=True, slots=True)
class ToyConfig:
    seed: int = 1
    now_ms: int = 1_781_526_896_000  # 2026-06-15T12:34:56Z
    users: int = 12
    days: int = 40
    plan: Plan = "enterprise"
    # The vendor caps ``limit`` silently at this size (small in paging tests).
    max_page_size: int = 100
    # Every n-th request of the organization is answered 429 (0: never).
    throttle_every: int = 0
    retry_after: str = "0"


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    email: str
    name: str
    role: str
    joined: dt.date
    removed: dt.date | None

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "status": "removed" if self.removed else "active",
            "joined_on": self.joined.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One row of the usage report; ``None`` metrics are what the vendor does not report."""

    day: dt.date
    user_email: str | None
    api_key_id: str | None
    model: str | None
    requests: int
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cost_cents_e6: int

    def payload(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "user_email": self.user_email,
            "api_key_id": self.api_key_id,
            "model": self.model,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_creation_tokens": self.cache_write_tokens,
            # Dollars with eight decimals: exactly cents x 10**6.
            "cost_usd": str(Decimal(self.cost_cents_e6).scaleb(-8).quantize(Decimal("1e-8"))),
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    at_ms: int
    action: str
    actor_email: str
    ip: str

    def payload(self) -> dict[str, Any]:
        at = dt.datetime.fromtimestamp(self.at_ms / 1000, tz=dt.UTC)
        return {
            "id": self.id,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "action": self.action,
            "actor": {"email": self.actor_email},
            "ip_address": self.ip,
        }


def _digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


class SimulatedToy:
    """One organization with an admin key and a member (non-admin) key."""

    def __init__(self, config: ToyConfig | None = None) -> None:
        self.config = config or ToyConfig()
        seed = self.config.seed
        self.org_id = "org_" + _digest("org", seed)[:12]
        self.admin_key = "toy_sk_admin_" + _digest("admin", seed)[:32]
        self.member_key = "toy_sk_member_" + _digest("member", seed)[:32]
        self.forced: Fault | None = None
        self.revoked: set[str] = set()
        self.requests = 0
        self.throttled = 0
        self._lock = threading.Lock()
        self.members = _members(self.config, self.first_day)

    # -- time ------------------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.config.now_ms / 1000, tz=dt.UTC).date()

    @property
    def first_day(self) -> dt.date:
        return self.today - dt.timedelta(days=self.config.days - 1)

    def now_ms(self) -> int:
        return self.config.now_ms

    # -- the API's view ----------------------------------------------------------------------

    def credentials(self, key: str | None = None) -> dict[str, str]:
        return {"api_key": key or self.admin_key, "organization_id": self.org_id}

    def count_request(self) -> bool:
        """Count one authenticated request; False when it must be throttled (429)."""
        with self._lock:
            self.requests += 1
            every = self.config.throttle_every
            if every and self.requests % every == 0:
                self.throttled += 1
                return False
            return True

    def usage(self, start: dt.date, end: dt.date) -> list[UsageRow]:
        """Rows of the days in ``[start, end)`` that the organization has history for."""
        day, rows = max(start, self.first_day), list[UsageRow]()
        while day < end and day <= self.today:
            rows.extend(_usage_day(self.config.seed, tuple(self.members), day))
            day += dt.timedelta(days=1)
        return rows

    def audit(self, start_ms: int, end_ms: int) -> list[AuditEntry]:
        """Entries with ``start_ms <= at < end_ms``, oldest first."""
        entries: list[AuditEntry] = []
        day = max(_day(start_ms), self.first_day)
        while day <= min(_day(end_ms), self.today):
            entries.extend(_audit_day(self.config.seed, tuple(self.members), day))
            day += dt.timedelta(days=1)
        now = self.config.now_ms
        return [e for e in entries if start_ms <= e.at_ms < end_ms and e.at_ms <= now]


def _day(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).date()


def _members(config: ToyConfig, first_day: dt.date) -> list[Member]:
    rng = random.Random(f"toy-members:{config.seed}")
    members = []
    for i in range(config.users):
        role = ROLES[i] if i < 2 else rng.choice(ROLES[2:])
        joined = first_day + dt.timedelta(days=rng.randrange(0, 5))
        # A few leave part-way through; their usage stops, their rows stay.
        removed = None
        if i >= 2 and rng.random() < 0.15:
            removed = first_day + dt.timedelta(days=rng.randrange(10, max(11, config.days - 2)))
        members.append(
            Member(
                id="usr_" + _digest("member", config.seed, i)[:16],
                email=f"person{i:03d}@toy-org.example",
                name=f"Person {i:03d}",
                role=role,
                joined=joined,
                removed=removed,
            )
        )
    return members


@lru_cache(maxsize=4096)
def _usage_day(seed: int, members: tuple[Member, ...], day: dt.date) -> tuple[UsageRow, ...]:
    rng = random.Random(f"toy-usage:{seed}:{day.isoformat()}")
    rows: list[UsageRow] = []
    for m in members:
        if day < m.joined or (m.removed is not None and day >= m.removed):
            continue
        if rng.random() < 0.3:  # not active that day: no row at all
            continue
        models = sorted(rng.sample(MODELS, rng.randint(1, 2)))
        rows.extend(_model_row(rng, day, m.email, None, model) for model in models)
        if rng.random() < 0.2:
            searches = rng.randint(1, 6)
            rows.append(
                UsageRow(day, m.email, None, None, searches, None, None, None, None,
                         searches * SEARCH_CENTS_E6)
            )  # fmt: skip
    rows.append(_model_row(rng, day, None, API_KEY_ID, "toy-small"))
    return tuple(rows)


def _model_row(
    rng: random.Random, day: dt.date, email: str | None, key_id: str | None, model: str
) -> UsageRow:
    requests = rng.randint(1, 40)
    tokens = (
        requests * rng.randint(200, 3000),
        requests * rng.randint(50, 800),
        requests * rng.randint(0, 5000),
        requests * rng.randint(0, 400),
    )
    cost = sum(t * p for t, p in zip(tokens, PRICES[model], strict=True))
    return UsageRow(day, email, key_id, model, requests, *tokens, cost)


@lru_cache(maxsize=4096)
def _audit_day(seed: int, members: tuple[Member, ...], day: dt.date) -> tuple[AuditEntry, ...]:
    rng = random.Random(f"toy-audit:{seed}:{day.isoformat()}")
    start = int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)
    entries = []
    for n in range(rng.randint(0, 3)):
        at = start + rng.randrange(DAY_MS)
        actor = rng.choice([m for m in members if m.role in ("owner", "admin")])
        entries.append(
            AuditEntry(
                id="aud_" + _digest("audit", seed, day, n)[:20],
                at_ms=at,
                action=rng.choice(ACTIONS),
                actor_email=actor.email,
                ip=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
            )
        )
    return tuple(sorted(entries, key=lambda e: (e.at_ms, e.id)))
