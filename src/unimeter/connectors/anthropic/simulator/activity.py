"""One UTC day of an organization's activity, generated from the seed on demand.

A day holds the Claude Code rows (before serialization) and the Messages API usage they and
the other callers (API keys, Workbench, a service account) produced, keyed by every
dimension the usage report can group by. Costs are derived later from these tokens, so the
Claude Code estimates, the usage report and the cost report tell one consistent story.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal, TypeVar

from .catalog import CI_TERMINAL, MODEL_WEIGHTS, MODELS
from .ids import stable_int
from .roster import DAY_MS, Roster, SimApiKey, SimUser

DOCUMENTED_TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")
# How often a tool shows up in a row (absent keys are how the API reports "unused").
_TOOL_ODDS = {
    "edit_tool": 1.0,
    "multi_edit_tool": 0.7,
    "write_tool": 0.8,
    "notebook_edit_tool": 0.15,
    "bash_tool": 0.4,
}
WEEKEND_FACTOR = 0.25
T = TypeVar("T")


@dataclass(frozen=True, slots=True, order=True)
class UsageKey:
    """The dimensions of a Messages usage result, as the API names them."""

    model: str
    workspace_id: str | None
    api_key_id: str | None
    account_id: str | None
    service_account_id: str | None
    service_tier: str
    context_window: str
    inference_geo: str


@dataclass(slots=True)
class Tokens:
    uncached: int = 0
    cache_read: int = 0
    cache_5m: int = 0
    cache_1h: int = 0
    output: int = 0
    web_search: int = 0

    def add(self, other: Tokens) -> None:
        self.uncached += other.uncached
        self.cache_read += other.cache_read
        self.cache_5m += other.cache_5m
        self.cache_1h += other.cache_1h
        self.output += other.output
        self.web_search += other.web_search

    def scaled(self, factor: int) -> Tokens:
        return Tokens(*(v * factor for v in self.values()))

    def values(self) -> tuple[int, int, int, int, int, int]:
        return (
            self.uncached,
            self.cache_read,
            self.cache_5m,
            self.cache_1h,
            self.output,
            self.web_search,
        )


@dataclass(frozen=True, slots=True)
class ModelUse:
    model: str
    input: int
    output: int
    cache_read: int
    cache_creation: int


@dataclass(frozen=True, slots=True)
class CodeRow:
    """A Claude Code analytics row before serialization."""

    actor_type: Literal["user_actor", "api_actor"]
    actor: str  # email address or API key name
    user_index: int | None
    customer_type: Literal["api", "subscription"]
    subscription_type: str | None
    terminal_type: str
    is_remote: bool
    sessions: int
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    tools: tuple[tuple[str, int, int], ...]
    models: tuple[ModelUse, ...]
    order: int  # position when rows are shuffled


@dataclass(slots=True)
class DayActivity:
    day: int
    rows: list[CodeRow] = field(default_factory=list)
    usage: dict[UsageKey, Tokens] = field(default_factory=dict)
    # Workspace id (None: default) -> code execution container hours in thousandths.
    code_execution: dict[str | None, int] = field(default_factory=dict)

    def record(self, key: UsageKey, tokens: Tokens) -> None:
        self.usage.setdefault(key, Tokens()).add(tokens)


def generate_day(
    roster: Roster, *, seed: int, salt: str, day: int, extra_tools: bool, spikes: dict[int, int]
) -> DayActivity:
    """Everything that happened on ``day``; ``spikes`` multiplies some users' usage."""
    out = DayActivity(day)
    weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    start, end = day * DAY_MS, (day + 1) * DAY_MS
    code_key = next((k for k in roster.api_keys if k.purpose == "claude_code"), None)
    for user in roster.users:
        if not (user.added_ms < end and (user.removed_ms is None or user.removed_ms > start)):
            continue
        rng = random.Random(stable_int(seed, salt, "day", day, "user", user.index))
        factor = spikes.get(user.index, 1)
        if user.usage == "claude_code":
            _claude_code_user(out, rng, roster, user, code_key, weekend, extra_tools, factor)
        elif user.usage == "api_only":
            _workbench_user(out, rng, user, weekend, factor)
    for key in roster.api_keys:
        if key.created_ms >= end or (key.stopped_ms is not None and key.stopped_ms <= start):
            continue
        rng = random.Random(stable_int(seed, salt, "day", day, "key", key.index))
        if key.purpose == "ci":
            _ci_key(out, rng, key, weekend, extra_tools)
        elif key.purpose == "backend":
            _backend_key(out, rng, roster, key, weekend)
    order = random.Random(stable_int(seed, salt, "order", day))
    positions = list(range(len(out.rows)))
    order.shuffle(positions)
    out.rows = [_with_order(row, pos) for row, pos in zip(out.rows, positions, strict=True)]
    return out


def _with_order(row: CodeRow, order: int) -> CodeRow:
    return replace(row, order=order)


def _claude_code_user(
    out: DayActivity,
    rng: random.Random,
    roster: Roster,
    user: SimUser,
    code_key: SimApiKey | None,
    weekend: bool,
    extra_tools: bool,
    factor: int,
) -> None:
    roll = rng.random()
    # A planted spike (factor > 1) makes the user active that day whatever the roll.
    if factor == 1 and roll >= user.activity * (WEEKEND_FACTOR if weekend else 1.0):
        return
    combos = [(t, False) for t in user.terminals] + [(user.terminals[0], True)]
    count = _weighted(rng, (1, 2, 3), (0.6, 0.3, 0.1))
    # A spiked day is a runaway one: every terminal busy, every model, ``factor`` times over.
    count = 3 if factor > 1 else count
    subscription = user.customer_type == "subscription"
    for terminal, remote in rng.sample(combos, count):
        models = _model_uses(
            rng, user.model_weights, user.intensity * factor, least=3 if factor > 1 else 1
        )
        out.rows.append(
            _row(
                rng,
                actor_type="user_actor",
                actor=user.email,
                user_index=user.index,
                customer_type=user.customer_type,
                subscription_type=roster.subscription_type if subscription else None,
                terminal=terminal,
                remote=remote,
                models=models,
                scale=user.intensity * factor,
                extra_tools=extra_tools,
            )
        )
        # Subscription (OAuth) usage carries the user's account id; API usage the key's id.
        via_key = code_key if not subscription else None
        for use in models:
            out.record(
                UsageKey(
                    model=use.model,
                    workspace_id=via_key.workspace_id if via_key else None,
                    api_key_id=via_key.id if via_key else None,
                    account_id=None if via_key else user.id,
                    service_account_id=None,
                    service_tier="standard",
                    context_window="0-200k",
                    inference_geo="global",
                ),
                _tokens_of(use),
            )


def _ci_key(
    out: DayActivity, rng: random.Random, key: SimApiKey, weekend: bool, extra_tools: bool
) -> None:
    if rng.random() >= (0.3 if weekend else 0.9):
        return
    models = _model_uses(rng, MODEL_WEIGHTS, 1.5, most=2)
    out.rows.append(
        _row(
            rng,
            actor_type="api_actor",
            actor=key.name,
            user_index=None,
            customer_type="api",
            subscription_type=None,
            terminal=CI_TERMINAL,
            remote=False,
            models=models,
            scale=1.5,
            extra_tools=extra_tools,
        )
    )
    for use in models:
        key_dims = UsageKey(
            use.model, key.workspace_id, key.id, None, None, "standard", "0-200k", "global"
        )
        out.record(key_dims, _tokens_of(use))


def _workbench_user(
    out: DayActivity, rng: random.Random, user: SimUser, weekend: bool, factor: int
) -> None:
    if rng.random() >= (0.1 if weekend else 0.4):
        return
    model = rng.choices([m.model for m in MODELS], weights=user.model_weights)[0]
    uncached = int(rng.uniform(2_000, 40_000) * user.intensity) * factor
    tokens = Tokens(uncached=uncached, output=uncached // 3)
    out.record(UsageKey(model, None, None, user.id, None, "standard", "0-200k", "global"), tokens)


def _backend_key(
    out: DayActivity, rng: random.Random, roster: Roster, key: SimApiKey, weekend: bool
) -> None:
    if rng.random() >= (0.5 if weekend else 0.95):
        return
    service_account = roster.service_account_id if key.index == 2 else None
    for _ in range(rng.randint(1, 4)):
        model = rng.choices([m.model for m in MODELS], weights=MODEL_WEIGHTS)[0]
        tier = _weighted(rng, ("standard", "batch", "priority"), (0.7, 0.2, 0.1))
        long_context = "sonnet" in model and rng.random() < 0.1
        uncached = int(rng.uniform(50_000, 1_500_000) * (WEEKEND_FACTOR if weekend else 1.0))
        tokens = Tokens(
            uncached=uncached,
            cache_read=int(uncached * rng.uniform(0.0, 3.0)),
            cache_5m=int(uncached * rng.uniform(0.0, 0.3)),
            cache_1h=int(uncached * rng.uniform(0.0, 0.1)),
            output=int(uncached * rng.uniform(0.1, 0.4)),
            web_search=rng.randint(1, 60) if tier == "standard" and rng.random() < 0.3 else 0,
        )
        dims = UsageKey(
            model=model,
            workspace_id=key.workspace_id,
            api_key_id=key.id,
            account_id=None,
            service_account_id=service_account,
            service_tier=tier,
            context_window="200k-1M" if long_context else "0-200k",
            inference_geo="us" if rng.random() < 0.2 else "global",
        )
        out.record(dims, tokens)
    if rng.random() < 0.4:
        hours = out.code_execution.get(key.workspace_id, 0)
        out.code_execution[key.workspace_id] = hours + rng.randint(100, 6_000)


def _row(
    rng: random.Random,
    *,
    actor_type: Literal["user_actor", "api_actor"],
    actor: str,
    user_index: int | None,
    customer_type: Literal["api", "subscription"],
    subscription_type: str | None,
    terminal: str,
    remote: bool,
    models: tuple[ModelUse, ...],
    scale: float,
    extra_tools: bool,
) -> CodeRow:
    added = int(rng.uniform(20, 900) * scale)
    commits = rng.randint(0, 5)
    return CodeRow(
        actor_type=actor_type,
        actor=actor,
        user_index=user_index,
        customer_type=customer_type,
        subscription_type=subscription_type,
        terminal_type=terminal,
        is_remote=remote,
        sessions=rng.randint(1, 7),
        lines_added=added,
        lines_removed=int(added * rng.uniform(0.05, 0.6)),
        commits=commits,
        pull_requests=rng.randint(0, commits // 2 + 1) if commits else 0,
        tools=_tools(rng, extra_tools),
        models=models,
        order=0,
    )


def _tools(rng: random.Random, extra_tools: bool) -> tuple[tuple[str, int, int], ...]:
    names: Iterable[str] = (*DOCUMENTED_TOOLS, "bash_tool") if extra_tools else DOCUMENTED_TOOLS
    out = []
    for name in names:
        if rng.random() < _TOOL_ODDS[name]:
            accepted = rng.randint(1, 60)
            out.append((name, accepted, int(accepted * rng.uniform(0.0, 0.2))))
    return tuple(out)


def _model_uses(
    rng: random.Random, weights: tuple[float, ...], scale: float, *, most: int = 3, least: int = 1
) -> tuple[ModelUse, ...]:
    count = max(least, min(most, _weighted(rng, (1, 2, 3), (0.5, 0.35, 0.15))))
    pool = list(zip([m.model for m in MODELS], weights, strict=True))
    chosen: list[str] = []
    while len(chosen) < count:
        model = rng.choices([m for m, _ in pool], weights=[w for _, w in pool])[0]
        pool = [(m, w) for m, w in pool if m != model]
        chosen.append(model)
    out = []
    for model in chosen:
        base = int(rng.uniform(5_000, 120_000) * scale) + 1
        out.append(
            ModelUse(
                model=model,
                input=base,
                output=int(base * rng.uniform(0.2, 0.6)),
                cache_read=int(base * rng.uniform(1.0, 6.0)),
                cache_creation=int(base * rng.uniform(0.1, 0.5)),
            )
        )
    return tuple(out)


def _tokens_of(use: ModelUse) -> Tokens:
    """A Claude Code model entry as Messages usage (cache writes split 5m / 1h)."""
    one_hour = use.cache_creation // 5
    return Tokens(
        uncached=use.input,
        cache_read=use.cache_read,
        cache_5m=use.cache_creation - one_hour,
        cache_1h=one_hour,
        output=use.output,
    )


def _weighted(rng: random.Random, values: tuple[T, ...], weights: tuple[float, ...]) -> T:
    return rng.choices(values, weights=weights)[0]


_TOKEN_FIELDS = ("uncached", "cache_read", "cache_5m", "cache_1h", "output", "web_search")


def hour_split(key: UsageKey, tokens: Tokens, day: int) -> list[tuple[int, Tokens]]:
    """Spread a day's tokens of one key over a few consecutive hours, exactly (the hourly
    sums add up to the day)."""
    h = stable_int(day, *(str(v) for v in (key.model, key.workspace_id, key.api_key_id)),
                   str(key.account_id), key.service_tier, key.context_window, key.inference_geo)  # fmt: skip
    first = 6 + h % 10
    span = 1 + (h >> 8) % 8
    hours = [hr for hr in range(first, first + span) if hr < 24]
    parts = [Tokens() for _ in hours]
    for field_name in _TOKEN_FIELDS:
        total = getattr(tokens, field_name)
        q, r = divmod(total, len(hours))
        for i, part in enumerate(parts):
            setattr(part, field_name, q + (1 if i < r else 0))
    return list(zip(hours, parts, strict=True))
