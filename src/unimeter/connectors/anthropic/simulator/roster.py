"""The people and structure of a simulated organization: users (with joins, removals and
role changes), workspaces, their members, API keys, a service account and invites.

A roster is small and built eagerly from the seed; the per-day activity that makes up the
bulk of the data is generated lazily (``activity.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from .catalog import (
    API_KEY_NAMES,
    COMPANY_WORDS,
    FIRST_NAMES,
    LAST_NAMES,
    MODEL_WEIGHTS,
    ROLE_MIX,
    TERMINALS,
    WORKSPACE_COLORS,
    WORKSPACE_NAMES,
    WORKSPACE_ROLE_OF,
)
from .ids import base58, stable_int, tagged_id, url_safe, uuid_from

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
REMOVED_SHARE = 0.15
Usage = Literal["claude_code", "api_only", "none"]


@dataclass(frozen=True, slots=True)
class SimUser:
    index: int
    id: str
    email: str
    name: str
    added_ms: int
    removed_ms: int | None
    # (from ms, role): the role held from that moment on; the first entry is at ``added_ms``.
    roles: tuple[tuple[int, str], ...]
    usage: Usage
    customer_type: Literal["api", "subscription"]
    # Chance of a Claude Code day on a weekday, and the scale of a day's tokens.
    activity: float
    intensity: float
    terminals: tuple[str, ...]
    model_weights: tuple[float, ...]

    def role_at(self, ms: int) -> str:
        role = self.roles[0][1]
        for since, value in self.roles:
            if since <= ms:
                role = value
        return role

    def present(self, ms: int) -> bool:
        return self.added_ms <= ms and (self.removed_ms is None or ms < self.removed_ms)


@dataclass(frozen=True, slots=True)
class SimWorkspace:
    id: str
    name: str
    created_ms: int
    archived_ms: int | None
    color: str


@dataclass(frozen=True, slots=True)
class SimMembership:
    user: int  # index into Roster.users
    workspace_id: str
    role: str


@dataclass(frozen=True, slots=True)
class SimApiKey:
    index: int
    id: str
    name: str
    workspace_id: str | None  # None: the default workspace
    created_ms: int
    created_by: int | None  # index of the creating user; None for a legacy key
    hint: str
    status: Literal["active", "inactive", "archived"]
    # When the key stopped working (inactive or archived); its usage ends there.
    stopped_ms: int | None
    # "claude_code": Claude Code users on the API bill; "ci": shows as an api_actor row;
    # "backend": plain API traffic.
    purpose: Literal["claude_code", "ci", "backend"]


@dataclass(frozen=True, slots=True)
class SimInvite:
    id: str
    email: str
    role: str
    invited_ms: int
    status: Literal["pending", "expired"]


@dataclass(frozen=True, slots=True)
class Roster:
    org_id: str
    org_name: str
    domain: str
    users: tuple[SimUser, ...]
    workspaces: tuple[SimWorkspace, ...]
    default_workspace_id: str  # shown only inside API keys' ``scope``
    memberships: tuple[SimMembership, ...]
    api_keys: tuple[SimApiKey, ...]
    service_account_id: str
    invites: tuple[SimInvite, ...]
    subscription_type: Literal["team", "enterprise"]


def build_roster(
    *,
    seed: int,
    salt: str,
    history_start_ms: int,
    anchor_ms: int,
    users: int,
    people: tuple[tuple[str, str], ...],
    workspaces: int,
    api_keys: int,
) -> Roster:
    rng = random.Random(stable_int(seed, salt, "roster"))
    word = rng.choice(COMPANY_WORDS)
    domain = people[0][0].split("@", 1)[1].lower() if people else f"{word.lower()}.dev"
    span = _Span(history_start_ms, anchor_ms)
    named = people or _generate_people(rng, users, domain)
    members = _users(rng, seed, salt, span, named)
    spaces = _workspaces(rng, seed, salt, span, workspaces)
    keys = _api_keys(rng, seed, salt, span, spaces, members, api_keys)
    return Roster(
        org_id=uuid_from(seed, salt, "org"),
        org_name=domain.split(".")[0].capitalize() if people else f"{word} Labs",
        domain=domain,
        users=members,
        workspaces=spaces,
        default_workspace_id=tagged_id("wrkspc", span.start - 500 * DAY_MS, seed, salt, "default"),
        memberships=_memberships(rng, members, spaces),
        api_keys=keys,
        service_account_id=tagged_id("svac", span.start - 90 * DAY_MS, seed, salt, "svac"),
        invites=_invites(rng, seed, salt, span, domain, {u.email for u in members}),
        subscription_type=rng.choice(("team", "enterprise")),
    )


@dataclass(frozen=True, slots=True)
class _Span:
    start: int  # first millisecond of history
    anchor: int  # "now" when the simulator was created

    def during(self, rng: random.Random, lo: float, hi: float) -> int:
        """A moment between the fractions ``lo`` and ``hi`` of the history, whole seconds."""
        ms = self.start + int((self.anchor - self.start) * rng.uniform(lo, hi))
        return ms // 1000 * 1000


def _generate_people(rng: random.Random, count: int, domain: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower()
        n = 2
        while local in seen:
            local, n = f"{first}.{last}{n}".lower(), n + 1
        seen.add(local)
        out.append((f"{local}@{domain}", f"{first} {last}"))
    return tuple(out)


def _users(
    rng: random.Random, seed: int, salt: str, span: _Span, people: tuple[tuple[str, str], ...]
) -> tuple[SimUser, ...]:
    n = len(people)
    admins = {0, 1} if n >= 10 else {0}
    removable = [i for i in range(n) if i not in admins]
    removed = set(rng.sample(removable, max(1, round(n * REMOVED_SHARE))))
    changers = set(rng.sample(removable, min(len(removable), max(1, n // 12))))
    usages = _usages(rng, removable)
    # Every fifth Claude Code user logs in with a claude.ai seat (subscription, OAuth).
    coders = [i for i in range(n) if usages.get(i, "claude_code") == "claude_code"]
    subscribers = set(coders[2::5])
    out = []
    for i, (email, name) in enumerate(people):
        joined_early = i in admins or rng.random() < 0.75
        if joined_early:
            added = (
                span.start - rng.randint(1, 400) * DAY_MS - rng.randint(0, DAY_MS // 1000) * 1000
            )
        else:
            added = span.during(rng, 0.0, 0.8)
        removed_ms = None
        if i in removed:
            removed_ms = max(added + 3 * DAY_MS, span.during(rng, 0.1, 0.97))
            removed_ms = removed_ms if removed_ms < span.anchor - DAY_MS else None
        role = "admin" if i in admins else _pick(rng, ROLE_MIX)
        roles: list[tuple[int, str]] = [(added, role)]
        if i in changers:
            later = "developer" if role != "developer" else "claude_code_user"
            roles.append((max(added + DAY_MS, span.during(rng, 0.3, 0.9)), later))
        out.append(
            SimUser(
                index=i,
                id=tagged_id("user", added, seed, salt, "user", i),
                email=email,
                name=name,
                added_ms=added,
                removed_ms=removed_ms,
                roles=tuple(roles),
                usage=usages.get(i, "claude_code"),
                customer_type="subscription" if i in subscribers else "api",
                activity=rng.uniform(0.35, 0.95),
                intensity=rng.lognormvariate(0.0, 0.6),
                terminals=tuple(rng.sample(TERMINALS, 3)),
                model_weights=tuple(w * rng.uniform(0.3, 1.7) for w in MODEL_WEIGHTS),
            )
        )
    return tuple(out)


def _usages(rng: random.Random, removable: list[int]) -> dict[int, Usage]:
    """About a fifth never use Claude Code nor the API, a tenth only the API (Workbench);
    the others (and the admins) use Claude Code."""
    order = rng.sample(removable, len(removable))
    idle = max(1, round(len(order) * 0.2))
    api_only = max(1, round(len(order) * 0.1))
    out: dict[int, Usage] = dict.fromkeys(order[:idle], "none")
    out.update(dict.fromkeys(order[idle : idle + api_only], "api_only"))
    return out


def _workspaces(
    rng: random.Random, seed: int, salt: str, span: _Span, count: int
) -> tuple[SimWorkspace, ...]:
    names = rng.sample(WORKSPACE_NAMES, min(count, len(WORKSPACE_NAMES)))
    names += [f"Workspace {i + 1}" for i in range(len(names), count)]
    out = []
    for i, name in enumerate(names):
        created = span.start - rng.randint(30, 300) * DAY_MS - rng.randint(0, 86_399) * 1000
        # The last workspace was archived during the period (listed only on request).
        archived = span.during(rng, 0.4, 0.8) if count >= 2 and i == count - 1 else None
        out.append(
            SimWorkspace(
                id=tagged_id("wrkspc", created, seed, salt, "workspace", i),
                name=name,
                created_ms=created,
                archived_ms=archived,
                color=WORKSPACE_COLORS[i % len(WORKSPACE_COLORS)],
            )
        )
    return tuple(out)


def _memberships(
    rng: random.Random, users: tuple[SimUser, ...], spaces: tuple[SimWorkspace, ...]
) -> tuple[SimMembership, ...]:
    out: list[SimMembership] = []
    for user in users:
        role = user.roles[-1][1]
        chosen = (
            spaces if role == "admin" else rng.sample(spaces, min(len(spaces), rng.randint(1, 2)))
        )
        out.extend(SimMembership(user.index, ws.id, WORKSPACE_ROLE_OF[role]) for ws in chosen)
    return tuple(out)


def _api_keys(
    rng: random.Random,
    seed: int,
    salt: str,
    span: _Span,
    spaces: tuple[SimWorkspace, ...],
    users: tuple[SimUser, ...],
    count: int,
) -> tuple[SimApiKey, ...]:
    live = [ws.id for ws in spaces if ws.archived_ms is None]
    creators = [
        u.index
        for u in users
        if u.roles[0][1] in ("admin", "developer") and u.added_ms < span.start
    ]
    out = []
    for i in range(count):
        name = API_KEY_NAMES[i] if i < len(API_KEY_NAMES) else f"key-{i + 1}"
        created = span.start - rng.randint(5, 200) * DAY_MS - rng.randint(0, 86_399) * 1000
        status, stopped = "active", None
        if i == count - 1:
            status, stopped = "archived", span.during(rng, 0.3, 0.7)
        elif i == count - 2:
            status, stopped = "inactive", span.during(rng, 0.6, 0.9)
        workspace: str | None = None if i % (len(live) + 1) == 0 else live[i % (len(live) + 1) - 1]
        purpose = "claude_code" if i == 0 else "ci" if i in (1, 3) else "backend"
        secret = url_safe(7, seed, salt, "hint", i)
        out.append(
            SimApiKey(
                index=i,
                id=tagged_id("apikey", created, seed, salt, "apikey", i),
                name=name,
                workspace_id=workspace,
                created_ms=created,
                created_by=None if i == 2 or not creators else creators[i % len(creators)],
                hint=f"sk-ant-api03-{secret[:3]}...{secret[3:]}",
                status=status,  # type: ignore[arg-type]
                stopped_ms=stopped,
                purpose=purpose,  # type: ignore[arg-type]
            )
        )
    return tuple(out)


def _invites(
    rng: random.Random, seed: int, salt: str, span: _Span, domain: str, taken: set[str]
) -> tuple[SimInvite, ...]:
    out = []
    for i, status in enumerate(("pending", "pending", "expired")):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{base58(stable_int(seed, salt, 'inv', i), 3)}@{domain}".lower()
        if email in taken:
            continue
        back = rng.randint(2, 15) if status == "pending" else rng.randint(25, 60)
        invited = (span.anchor - back * DAY_MS - rng.randint(0, 86_399) * 1000) // 1000 * 1000
        out.append(
            SimInvite(
                id=tagged_id("invite", invited, seed, salt, "invite", i),
                email=email,
                role=rng.choice(("claude_code_user", "developer", "user")),
                invited_ms=invited,
                status=status,  # type: ignore[arg-type]
            )
        )
    return tuple(out)


def _pick(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random() * sum(w for _, w in mix)
    for value, weight in mix:
        roll -= weight
        if roll < 0:
            return value
    return mix[-1][0]
