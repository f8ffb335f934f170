"""Lazy, deterministic generation of one team-day of activity.

A day is generated in one vectorised pass over every member from a random stream seeded by
``(seed, team, day)``, so any day can be produced on its own, in any order, with the same
result. Events are drawn for every member and only then filtered by membership, which keeps
the other members' events stable when one member is removed through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .catalog import (
    KIND_ABORTED,
    KIND_ERRORED,
    KIND_INCLUDED,
    KIND_USAGE_BASED,
    KIND_USER_API_KEY,
    MODELS,
    TOKEN_FEE_MICROCENTS_PER_TOKEN,
)
from .config import DAY_MS, HOUR_MS, MINUTE_MS
from .rng import mix64_array
from .roster import Roster

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

# Events become visible at most this long after they happen (hourly aggregation).
MAX_ARRIVAL_LAG_MS = 3 * HOUR_MS
MICRO = 1_000_000  # micro-cents per cent

_MODEL_FEE = np.array([m.charges_token_fee for m in MODELS])
_MODEL_UNITS = np.array([m.request_units for m in MODELS])
_MODEL_SCALE = np.array([m.token_scale for m in MODELS])
# Micro-cents per token: $/M tokens * 100 cents / 1e6 tokens * 1e6 micro = price * 100.
_PRICES = (
    np.array(
        [[m.input_price, m.output_price, m.cache_read_price, m.cache_write_price] for m in MODELS]
    )
    * 100.0
)
_OPENAI = np.array([m.provider == "openai" for m in MODELS])


@dataclass(frozen=True, slots=True)
class DayEvents:
    """Every event of one UTC day, sorted as the API returns them (newest first)."""

    day: int
    ts: I64
    visible_at: I64
    user: I32
    model: I8
    kind: I8
    max_mode: BOOL
    token_based: BOOL
    headless: BOOL
    input_tokens: I32
    output_tokens: I32
    cache_write_tokens: I32
    cache_read_tokens: I32
    cost_micro: I64  # model cost after discount, before adjustments
    fee_micro: I64  # Cursor Token Rate
    charged_micro: I64
    discount: I8  # percent off; 0 means the field is absent
    units_centi: I32  # requestsCosts * 100
    uid: U64  # per-event random identity, shared by exact twins
    conversation: U64  # 0 = none
    cloud_agent: U64  # 0 = none
    automation: U64  # 0 = none
    service_account: I8  # -1 = none
    hosting: I8  # -1 = none

    @property
    def size(self) -> int:
        return int(self.ts.shape[0])


@dataclass(frozen=True, slots=True)
class DayActivity:
    """Per-member, non-event activity of one day (indexed by member index)."""

    day: int
    active: BOOL
    tabs_shown: I64
    tabs_accepted: I64
    applies: I64
    accepts: I64
    rejects: I64
    lines_added: I64
    lines_deleted: I64
    accepted_lines_added: I64
    accepted_lines_deleted: I64
    bugbot: I64
    logins: BOOL  # members who logged in (audit log)
    login_minute: I64


@dataclass(frozen=True, slots=True)
class Spike:
    """A member's day of runaway usage, injected by a test or a demo: ``factor`` times
    their usual number of events, optionally all on one model, optionally headless."""

    member: int
    factor: int
    model: int | None = None
    headless: bool = False


@dataclass(frozen=True, slots=True)
class Day:
    events: DayEvents
    activity: DayActivity


def generate_day(
    roster: Roster, seed: int, salt: int, day: int, activity_scale: float, *, late_arrivals: bool,
    spikes: tuple[Spike, ...] = (),
) -> Day:  # fmt: skip
    gen = np.random.default_rng([seed & 0xFFFFFFFF, salt & 0xFFFFFFFF, day & 0xFFFFFFFF, 1])
    b = roster.behaviour
    n = len(roster.members)
    weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    p_active = b.p_active_weekend if weekend else b.p_active_weekday
    active = gen.random(n) < p_active
    counts = gen.poisson(b.event_rate * activity_scale) * active
    for spike in spikes:
        active[spike.member] = True
        usual = round(float(b.event_rate[spike.member]) * activity_scale)
        counts[spike.member] = max(int(counts[spike.member]), usual, 1) * spike.factor
    events = _generate_events(
        roster, gen, salt, day, counts.astype(np.int64), late_arrivals, spikes
    )
    activity = _generate_activity(roster, gen, day, active, counts.astype(np.int64))
    return Day(events=events, activity=activity)


def _generate_events(
    roster: Roster, gen: np.random.Generator, salt: int, day: int, counts: I64, late: bool,
    spikes: tuple[Spike, ...] = (),
) -> DayEvents:  # fmt: skip
    b = roster.behaviour
    total = int(counts.sum())
    user = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    hours = gen.normal(b.center_hour[user], b.spread_hours[user]) % 24.0
    ts = day * DAY_MS + (hours * HOUR_MS).astype(np.int64)
    order = np.lexsort((ts, user))
    ts = ts[order]  # `user` is already grouped, so only the times need reordering

    starts = np.cumsum(counts) - counts
    rank = np.arange(total, dtype=np.int64) - starts[user]
    conv_index = rank // b.conversation_length[user]
    base = np.uint64(salt & 0x7FFFFFFF) * np.uint64(1_000_003) + np.uint64(day) * np.uint64(7919)
    conversation = mix64_array(
        base + user.astype(np.uint64) * np.uint64(104_729) + conv_index.astype(np.uint64)
    )
    conversation[gen.random(total) < 0.08] = 0

    u_model = gen.random(total)
    model = (u_model[:, None] < b.model_cum[user]).argmax(axis=1).astype(np.int64)
    for spike in spikes:
        if spike.model is not None:
            model[user == spike.member] = spike.model

    r_kind = gen.random(total)
    errored = r_kind < 0.02
    aborted = (r_kind >= 0.02) & (r_kind < 0.025)
    failed = errored | aborted
    byok = ~failed & (gen.random(total) < b.p_byok[user])
    usage_based = ~failed & ~byok & (gen.random(total) < b.p_usage_based[user])
    kind = np.full(total, KIND_INCLUDED, dtype=np.int64)
    kind[usage_based] = KIND_USAGE_BASED
    kind[byok] = KIND_USER_API_KEY
    kind[errored] = KIND_ERRORED
    kind[aborted] = KIND_ABORTED

    max_mode = gen.random(total) < b.p_max_mode[user]
    token_based = ~failed & (gen.random(total) < 0.94)
    headless = gen.random(total) < b.p_headless[user]
    for spike in spikes:
        if spike.headless:
            headless[user == spike.member] = True
    uid = gen.integers(1, np.iinfo(np.int64).max, total, dtype=np.int64).astype(np.uint64)
    # One cloud-agent run per conversation; a run outside any conversation gets its own id.
    agent_seed = np.where(conversation != 0, conversation, uid) + np.uint64(77)
    cloud_agent = np.where(
        headless & (gen.random(total) < 0.7), mix64_array(agent_seed), np.uint64(0)
    ).astype(np.uint64)
    hosting = np.where(cloud_agent != 0, (gen.random(total) < 0.2) * gen.integers(1, 4, total), -1)
    sa_pick = (b.service_account[user] >= 0) & (gen.random(total) < 0.1)
    service_account = np.where(sa_pick, b.service_account[user], -1).astype(np.int64)
    headless |= sa_pick
    automation = np.where(
        headless & (cloud_agent == 0) & (gen.random(total) < 0.3),
        mix64_array(
            np.uint64(salt & 0xFFFF) + user.astype(np.uint64) * np.uint64(31) + np.uint64(3)
        ),
        np.uint64(0),
    ).astype(np.uint64)

    scale = _MODEL_SCALE[model] * np.where(max_mode, 2.0, 1.0) * token_based
    input_tokens = (gen.lognormal(np.log(6000.0), 0.8, total) * scale).astype(np.int64)
    output_tokens = (gen.lognormal(np.log(1200.0), 0.9, total) * scale).astype(np.int64)
    cache_read = (
        gen.lognormal(np.log(40000.0), 1.0, total) * scale * (gen.random(total) < 0.85)
    ).astype(np.int64)
    cache_write = (
        gen.lognormal(np.log(5000.0), 1.0, total) * scale * (gen.random(total) < 0.6)
    ).astype(np.int64)
    prices = _PRICES[model]
    raw_cost = (
        input_tokens * prices[:, 0]
        + output_tokens * prices[:, 1]
        + cache_read * prices[:, 2]
        + cache_write * prices[:, 3]
    )
    discount = np.where(
        _OPENAI[model] & token_based & (gen.random(total) < 0.1), 10 * gen.integers(1, 3, total), 0
    )
    cost_micro = np.rint(raw_cost * (1.0 - discount / 100.0)).astype(np.int64)
    cost_micro[byok] = 0
    billed = token_based & ((kind == KIND_INCLUDED) | (kind == KIND_USAGE_BASED))
    all_tokens = input_tokens + output_tokens + cache_read + cache_write
    fee_micro = np.where(billed & _MODEL_FEE[model], all_tokens * TOKEN_FEE_MICROCENTS_PER_TOKEN, 0)
    request_based_charge = np.where(
        ~token_based & (kind == KIND_USAGE_BASED),
        4 * MICRO * _MODEL_UNITS[model].astype(np.int64),
        0,
    )
    charged_micro = np.where(billed, cost_micro + fee_micro, request_based_charge).astype(np.int64)
    units = (
        _MODEL_UNITS[model]
        * np.where(max_mode, 2.0, 1.0)
        * np.where(token_based, gen.uniform(0.8, 1.6, total), 1.0)
    )
    units_centi = np.where(failed, 0, np.rint(units * 10.0) * 10).astype(np.int64)

    lag = np.minimum(gen.exponential(25 * MINUTE_MS, total), MAX_ARRIVAL_LAG_MS).astype(np.int64)
    # Parallel agents occasionally emit two events identical in every field.
    twins = 1 + (gen.random(total) < 0.003).astype(np.int64)

    columns: dict[str, npt.NDArray[Any]] = {
        "ts": ts,
        "visible_at": ts + lag if late else ts,
        "user": user,
        "model": model,
        "kind": kind,
        "max_mode": max_mode,
        "token_based": token_based,
        "headless": headless,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_write_tokens": cache_write,
        "cache_read_tokens": cache_read,
        "cost_micro": cost_micro,
        "fee_micro": fee_micro.astype(np.int64),
        "charged_micro": charged_micro,
        "discount": discount.astype(np.int64),
        "units_centi": units_centi,
        "uid": uid,
        "conversation": conversation,
        "cloud_agent": cloud_agent,
        "automation": automation,
        "service_account": service_account,
        "hosting": hosting.astype(np.int64),
    }
    columns = {k: np.repeat(v, twins) for k, v in columns.items()}
    columns = _apply_membership(roster, columns)
    # API order: newest first; ties broken by member and event identity.
    order = np.lexsort((columns["uid"], columns["user"], -columns["ts"]))
    return DayEvents(
        day=day,
        **{k: v[order].astype(_COMPACT.get(k, v.dtype)) for k, v in columns.items()},
    )


# Storage types per column: a 10,000-member day holds ~150,000 events, so bytes matter.
_COMPACT: dict[str, type[np.generic]] = {
    "user": np.int32,
    "model": np.int8,
    "kind": np.int8,
    "input_tokens": np.int32,
    "output_tokens": np.int32,
    "cache_write_tokens": np.int32,
    "cache_read_tokens": np.int32,
    "discount": np.int8,
    "units_centi": np.int32,
    "service_account": np.int8,
    "hosting": np.int8,
}


def _apply_membership(
    roster: Roster, columns: dict[str, npt.NDArray[Any]]
) -> dict[str, npt.NDArray[Any]]:
    b = roster.behaviour
    user = columns["user"].astype(np.int64)
    ts = columns["ts"].astype(np.int64)
    member = (ts >= b.joined_ms[user]) & (ts < b.removed_ms[user])
    residual = ~member & (ts >= b.removed_ms[user]) & (ts < b.residual_until_ms[user])
    keep = member | residual
    out = {k: v[keep] for k, v in columns.items()}
    # Usage after removal comes from a cloud agent that was already running.
    tail = residual[keep]
    if tail.any():
        out["headless"] = out["headless"] | tail
        agent = out["cloud_agent"].astype(np.uint64)
        needs_agent = tail & (agent == 0)
        # One run per conversation; an event outside any conversation gets its own run, so
        # two members never share a cloud agent id.
        conversation = out["conversation"][needs_agent].astype(np.uint64)
        own = out["uid"][needs_agent].astype(np.uint64)
        agent[needs_agent] = mix64_array(
            np.where(conversation != 0, conversation, own) + np.uint64(77)
        )
        out["cloud_agent"] = agent
        out["hosting"] = np.where(tail & (out["hosting"] < 0), 0, out["hosting"])
    return out


def _as64(values: npt.ArrayLike) -> I64:
    return np.asarray(values, dtype=np.int64)


def _generate_activity(
    roster: Roster, gen: np.random.Generator, day: int, active: BOOL, counts: I64
) -> DayActivity:
    b = roster.behaviour
    n = active.shape[0]
    tabs_shown = gen.poisson(b.tab_rate) * active
    tabs_accepted = gen.binomial(tabs_shown, 0.28)
    applies = gen.poisson(0.45 * counts + 1.0) * active
    accepts = gen.binomial(applies, 0.72)
    rejects = gen.binomial(applies - accepts, 0.6)
    lines_added = gen.poisson(applies * 24.0 + tabs_accepted * 2.0 + 20.0 * active)
    lines_deleted = gen.poisson(lines_added * 0.3)
    accepted_added = gen.binomial(lines_added, 0.55)
    accepted_deleted = gen.binomial(lines_deleted, 0.5)
    bugbot = gen.poisson(b.bugbot_rate) * active
    logins = active & (gen.random(n) < 0.25)
    login_minute = (np.clip(b.center_hour - 1.0, 0.0, 23.5) * 60).astype(np.int64) + gen.integers(
        0, 30, n
    )
    return DayActivity(
        day=day,
        active=active,
        tabs_shown=_as64(tabs_shown),
        tabs_accepted=_as64(tabs_accepted),
        applies=_as64(applies),
        accepts=_as64(accepts),
        rejects=_as64(rejects),
        lines_added=_as64(lines_added),
        lines_deleted=_as64(lines_deleted),
        accepted_lines_added=_as64(accepted_added),
        accepted_lines_deleted=_as64(accepted_deleted),
        bugbot=_as64(bugbot),
        logins=logins,
        login_minute=login_minute,
    )
