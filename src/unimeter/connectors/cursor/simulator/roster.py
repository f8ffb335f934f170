"""The people of a simulated team: members, roles, billing groups and their histories.

A roster is small (one object per member) and built eagerly; the per-day activity that
makes up the bulk of the data is generated lazily elsewhere (``activity.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .catalog import (
    COMPANY_WORDS,
    FIRST_NAMES,
    GROUP_NAMES,
    LAST_NAMES,
    MODELS,
    ROLE_FREE_OWNER,
    ROLE_MEMBER,
    ROLE_OWNER,
)
from .config import DAY_MS, HOUR_MS
from .rng import stable_int, token_string

NEVER_REMOVED = np.iinfo(np.int64).max
# Share of members removed during the days after start-up, and over how many days.
CHURN_PER_MEMBER = 0.04
CHURN_HORIZON_DAYS = 30
UNASSIGNED = -1


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    p_active_weekday: float
    p_active_weekend: float
    events_per_active_day: float
    tabs_per_active_day: float


PROFILES: dict[str, Profile] = {
    "never": Profile("never", 0.0, 0.0, 0.0, 0.0),
    "light": Profile("light", 0.35, 0.05, 4.0, 40.0),
    "moderate": Profile("moderate", 0.70, 0.15, 16.0, 150.0),
    "heavy": Profile("heavy", 0.90, 0.30, 48.0, 300.0),
}
_PROFILE_MIX = (("never", 0.08), ("light", 0.27), ("moderate", 0.40), ("heavy", 0.25))


@dataclass(slots=True)
class GroupStint:
    group: int  # index into Roster.groups, or UNASSIGNED
    start_ms: int
    end_ms: int | None


@dataclass(slots=True)
class Member:
    index: int
    user_id: str
    numeric_id: int
    name: str
    email: str
    role: str
    profile: str
    joined_ms: int
    removed_ms: int | None = None
    # Headless (cloud-agent) usage that keeps running after a removal, until this time.
    residual_until_ms: int | None = None
    role_changes: list[tuple[int, str, str]] = field(default_factory=list)
    spend_limit_dollars: int | None = None
    spend_limit_set_ms: int | None = None
    hard_limit_override_dollars: int = 0
    stints: list[GroupStint] = field(default_factory=list)

    def group_at(self, ms: int) -> int:
        for stint in self.stints:
            if stint.start_ms <= ms and (stint.end_ms is None or ms < stint.end_ms):
                return stint.group
        return UNASSIGNED

    def role_at(self, ms: int) -> str:
        role = self.role_changes[0][1] if self.role_changes else self.role
        for when, _, new in self.role_changes:
            if when <= ms:
                role = new
        return role

    def is_member_at(self, ms: int) -> bool:
        return self.joined_ms <= ms and (self.removed_ms is None or ms < self.removed_ms)


@dataclass(frozen=True, slots=True)
class Group:
    index: int
    id: str
    name: str
    created_ms: int
    directory_group_id: str | None


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    id: str
    name: str
    owner_index: int


@dataclass(slots=True)
class Behaviour:
    """Per-member generation parameters as arrays indexed by member index."""

    p_active_weekday: npt.NDArray[np.float64]
    p_active_weekend: npt.NDArray[np.float64]
    event_rate: npt.NDArray[np.float64]
    tab_rate: npt.NDArray[np.float64]
    center_hour: npt.NDArray[np.float64]
    spread_hours: npt.NDArray[np.float64]
    model_cum: npt.NDArray[np.float64]  # (members, models) cumulative weights
    p_usage_based: npt.NDArray[np.float64]
    p_byok: npt.NDArray[np.float64]
    p_max_mode: npt.NDArray[np.float64]
    p_headless: npt.NDArray[np.float64]
    conversation_length: npt.NDArray[np.int64]
    apply_extension: npt.NDArray[np.int64]
    tab_extension: npt.NDArray[np.int64]
    version_offset: npt.NDArray[np.int64]
    # How a day's requests split between chat, composer and cmd-K; the rest is agent.
    chat_share: npt.NDArray[np.float64]
    composer_share: npt.NDArray[np.float64]
    cmdk_share: npt.NDArray[np.float64]
    bugbot_rate: npt.NDArray[np.float64]
    service_account: npt.NDArray[np.int64]  # index into Roster.service_accounts, or -1
    joined_ms: npt.NDArray[np.int64]
    removed_ms: npt.NDArray[np.int64]
    residual_until_ms: npt.NDArray[np.int64]


@dataclass(slots=True)
class Roster:
    team_id: int
    team_name: str
    domain: str
    created_ms: int
    history_start_ms: int
    cycle_anchor_day: int
    default_limit_dollars: int
    members: list[Member]
    groups: list[Group]
    service_accounts: list[ServiceAccount]
    behaviour: Behaviour

    def refresh_membership_arrays(self) -> None:
        """Re-derive the membership arrays after a mutation (e.g. remove-member)."""
        b = self.behaviour
        for m in self.members:
            b.removed_ms[m.index] = NEVER_REMOVED if m.removed_ms is None else m.removed_ms
            b.residual_until_ms[m.index] = m.residual_until_ms or 0


def build_roster(seed: int, salt: int, users: int, days: int, start_ms: int) -> Roster:
    rnd = random.Random(stable_int(seed, salt, "roster"))
    company = COMPANY_WORDS[salt % len(COMPANY_WORDS)]
    domain = f"{company}{salt % 97}.dev" if salt % 3 else f"{company}.dev"
    history_start = (start_ms // DAY_MS - days) * DAY_MS
    created = history_start - 200 * DAY_MS
    members = _build_members(rnd, seed, salt, users, domain, created, history_start, start_ms)
    _schedule_churn(random.Random(stable_int(seed, salt, "churn")), members, start_ms)
    groups = _build_groups(rnd, seed, salt, users, created)
    _assign_groups(rnd, members, groups, history_start, start_ms)
    service_accounts = [
        ServiceAccount(f"sa_{token_string(20, seed, salt, 'sa', i)}", name, i % 2)
        for i, name in enumerate(("ci-review-bot", "nightly-refactor"))
    ]
    behaviour = _build_behaviour(seed, salt, members, len(service_accounts))
    return Roster(
        team_id=4000 + salt % 900_000,
        team_name=f"{company.title()} Engineering",
        domain=domain,
        created_ms=created,
        history_start_ms=history_start,
        cycle_anchor_day=1 + salt % 28,
        default_limit_dollars=250,
        members=members,
        groups=groups,
        service_accounts=service_accounts,
        behaviour=behaviour,
    )


def _build_members(
    rnd: random.Random,
    seed: int,
    salt: int,
    users: int,
    domain: str,
    created: int,
    history_start: int,
    start_ms: int,
) -> list[Member]:
    members: list[Member] = []
    seen_emails: set[str] = set()
    owners = max(1, users // 25)
    free_owners = 1 if users >= 8 else 0
    last_join = max(history_start, start_ms - 3 * DAY_MS)
    for i in range(users):
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        email = f"{first}.{last}@{domain}".lower()
        n = 2
        while email in seen_emails:
            email = f"{first}.{last}{n}@{domain}".lower()
            n += 1
        seen_emails.add(email)
        role = (
            ROLE_OWNER
            if i < owners
            else ROLE_FREE_OWNER
            if i < owners + free_owners
            else ROLE_MEMBER
        )
        profile = "moderate" if i == 0 else _pick_profile(rnd)
        late = i > owners + free_owners and rnd.random() < 0.22
        joined = (
            rnd.randrange(last_join - history_start + 1) + history_start
            if late
            else created + rnd.randrange(history_start - created)
        )
        member = Member(
            index=i,
            user_id="user_" + token_string(28, seed, salt, "user", i),
            numeric_id=100_000 + (salt % 800_000) * 10 + i,
            name=f"{first} {last}",
            email=email,
            role=role,
            profile=profile,
            joined_ms=joined,
        )
        _maybe_remove(rnd, member, owners + free_owners, history_start, start_ms)
        _maybe_promote(rnd, member, history_start, start_ms)
        _maybe_limit(rnd, member, history_start, start_ms)
        members.append(member)
    return members


def _pick_profile(rnd: random.Random) -> str:
    r = rnd.random()
    for name, weight in _PROFILE_MIX:
        if r < weight:
            return name
        r -= weight
    return "moderate"


def _maybe_remove(
    rnd: random.Random, member: Member, protected: int, history_start: int, start_ms: int
) -> None:
    earliest = max(member.joined_ms + 7 * DAY_MS, history_start)
    latest = start_ms - DAY_MS
    if member.index < protected or earliest >= latest or rnd.random() >= 0.10:
        return
    member.removed_ms = earliest + rnd.randrange(latest - earliest)
    if member.profile in ("moderate", "heavy") and rnd.random() < 0.5:
        # A cloud agent started before the removal keeps running for a while.
        member.residual_until_ms = member.removed_ms + rnd.randrange(6, 30) * HOUR_MS


def _schedule_churn(rnd: random.Random, members: list[Member], start_ms: int) -> None:
    """Removals still to come, so a team running on a moving clock keeps changing."""
    protected = max(1, len(members) // 25) + (1 if len(members) >= 8 else 0)
    for member in members[protected:]:
        if member.removed_ms is not None or rnd.random() >= CHURN_PER_MEMBER:
            continue
        member.removed_ms = start_ms + rnd.randrange(HOUR_MS, CHURN_HORIZON_DAYS * DAY_MS)
        if member.profile in ("moderate", "heavy") and rnd.random() < 0.6:
            member.residual_until_ms = member.removed_ms + rnd.randrange(6, 30) * HOUR_MS


def _maybe_promote(rnd: random.Random, member: Member, history_start: int, start_ms: int) -> None:
    if member.role != ROLE_MEMBER or rnd.random() >= 0.04:
        return
    begin = max(member.joined_ms, history_start) + DAY_MS
    end = member.removed_ms or start_ms
    if begin < end:
        when = begin + rnd.randrange(end - begin)
        member.role_changes.append((when, ROLE_MEMBER, ROLE_OWNER))
        member.role = ROLE_OWNER


def _maybe_limit(rnd: random.Random, member: Member, history_start: int, start_ms: int) -> None:
    if rnd.random() < 0.25:
        member.spend_limit_dollars = rnd.choice((50, 100, 150, 200, 300, 500))
        begin = max(member.joined_ms, history_start)
        end = member.removed_ms or start_ms
        member.spend_limit_set_ms = begin + rnd.randrange(max(1, end - begin))
    if rnd.random() < 0.05:
        member.hard_limit_override_dollars = rnd.choice((400, 1000))


def _build_groups(
    rnd: random.Random, seed: int, salt: int, users: int, created: int
) -> list[Group]:
    count = max(2, min(len(GROUP_NAMES), users // 8))
    names = rnd.sample(GROUP_NAMES, count)
    return [
        Group(
            index=i,
            id="group_" + token_string(16, seed, salt, "group", i),
            name=name,
            created_ms=created + rnd.randrange(30) * DAY_MS,
            directory_group_id=(
                "dir_group_" + token_string(12, seed, salt, "dir", i)
                if rnd.random() < 0.3
                else None
            ),
        )
        for i, name in enumerate(names)
    ]


def _assign_groups(
    rnd: random.Random,
    members: list[Member],
    groups: list[Group],
    history_start: int,
    start_ms: int,
) -> None:
    for m in members:
        end = m.removed_ms
        if rnd.random() >= 0.85:
            continue  # never assigned: their usage lands in the reserved Unassigned group
        group = rnd.randrange(len(groups))
        start = max(m.joined_ms, groups[group].created_ms)
        move_from = max(start, history_start) + DAY_MS
        move_to = end if end is not None else start_ms - DAY_MS
        if move_from < move_to and rnd.random() < 0.18:
            moved = move_from + rnd.randrange(move_to - move_from)
            m.stints.append(GroupStint(group, start, moved))
            if rnd.random() < 0.8:
                other = (group + 1 + rnd.randrange(len(groups) - 1)) % len(groups)
                m.stints.append(GroupStint(other, moved, end))
        else:
            m.stints.append(GroupStint(group, start, end))


def _build_behaviour(seed: int, salt: int, members: list[Member], n_service: int) -> Behaviour:
    n = len(members)
    gen = np.random.default_rng([seed & 0xFFFFFFFF, salt & 0xFFFFFFFF, 7])
    profiles = [PROFILES[m.profile] for m in members]
    vigour = gen.lognormal(0.0, 0.35, n)
    model_weights = gen.dirichlet(np.full(len(MODELS), 0.6), n)
    # Most people lean on one or two favourite models.
    favourite = gen.integers(0, len(MODELS), n)
    model_weights[np.arange(n), favourite] += 1.5
    model_cum = np.cumsum(model_weights / model_weights.sum(axis=1, keepdims=True), axis=1)
    model_cum[:, -1] = 1.0
    service_account = np.full(n, -1, dtype=np.int64)
    for k in range(min(n_service, n)):
        service_account[k] = k
    byok = gen.random(n) < 0.08
    return Behaviour(
        p_active_weekday=np.array([p.p_active_weekday for p in profiles]),
        p_active_weekend=np.array([p.p_active_weekend for p in profiles]),
        event_rate=np.array([p.events_per_active_day for p in profiles]) * vigour,
        tab_rate=np.array([p.tabs_per_active_day for p in profiles]) * vigour,
        center_hour=gen.uniform(7.0, 19.0, n),
        spread_hours=gen.uniform(1.5, 3.5, n),
        model_cum=model_cum,
        p_usage_based=np.where(
            np.array([m.profile == "heavy" for m in members]), gen.uniform(0.2, 0.5, n), 0.05
        ),
        p_byok=np.where(byok, gen.uniform(0.1, 0.4, n), 0.0),
        p_max_mode=gen.uniform(0.0, 0.2, n),
        p_headless=gen.uniform(0.0, 0.12, n),
        conversation_length=gen.integers(3, 14, n),
        apply_extension=gen.integers(0, 8, n),
        tab_extension=gen.integers(0, 8, n),
        version_offset=gen.integers(0, 3, n),
        chat_share=gen.uniform(0.05, 0.3, n),
        composer_share=gen.uniform(0.0, 0.15, n),
        cmdk_share=gen.uniform(0.0, 0.12, n),
        bugbot_rate=np.where(gen.random(n) < 0.3, gen.uniform(0.1, 1.0, n), 0.0),
        service_account=service_account,
        joined_ms=np.array([m.joined_ms for m in members], dtype=np.int64),
        removed_ms=np.array(
            [NEVER_REMOVED if m.removed_ms is None else m.removed_ms for m in members],
            dtype=np.int64,
        ),
        residual_until_ms=np.array([m.residual_until_ms or 0 for m in members], dtype=np.int64),
    )
