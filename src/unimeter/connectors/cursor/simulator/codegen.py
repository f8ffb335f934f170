"""AI Code Tracking data of one team-day: accepted changes and the commits that carry them.

Drawn from the same generated day as the Admin API, so the numbers agree:

- one TAB change per accepted tab (``totalTabsAccepted``) and one COMPOSER change per
  accepted agent diff (``totalAccepts``), whose lines together never exceed the day's
  ``acceptedLinesAdded`` / ``acceptedLinesDeleted``;
- commits only carry AI lines that were accepted before the commit, and never more than the
  daily usage counters had accrued by then (those counters are pro-rated over the day), so
  even the naive sum over a day's commits (repeated hashes included) stays within them.

Generation does not depend on "now"; visibility (``createdAt <= now``) is applied on read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .activity import Day
from .config import DAY_MS, HOUR_MS, MINUTE_MS
from .rng import mix64, mix64_array, stable_int
from .team import SimTeam

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BOOL = npt.NDArray[np.bool_]

SOURCE_TAB = 0
SOURCE_COMPOSER = 1
SOURCES = ("TAB", "COMPOSER")
# No model is reported for tab completions.
NO_MODEL = -1

REPO_NAMES = (
    "payments", "web", "mobile-app", "platform", "data-pipeline", "infra", "billing",
    "search", "auth-service", "design-system",
)  # fmt: skip
FEATURE_WORDS = (
    "retries", "checkout", "rate-limit", "onboarding", "search-index", "audit", "webhooks",
    "dark-mode", "caching", "export", "sso", "metrics",
)  # fmt: skip
MESSAGES = (
    "Add {w} support", "Fix flaky {w} test", "Refactor {w} module", "Handle {w} edge case",
    "Bump dependencies", "Improve {w} logging", "Remove dead {w} code", "Document {w}",
    "Speed up {w}", "Wire {w} into the API",
)  # fmt: skip
# Share of commits that show up twice (amended, or pushed to a second branch).
REPEAT_RATE = 0.03
NULL_NON_AI_RATE = 0.04
PRIVACY_MODE_RATE = 0.2


@dataclass(frozen=True, slots=True)
class CodeChanges:
    """Accepted AI changes of one day, sorted by ``created`` (oldest first)."""

    created: I64
    user: I64
    source: I64
    added: I64
    deleted: I64
    model: I64  # index into MODELS, or NO_MODEL
    ext: I64  # index into FILE_EXTENSIONS
    files: I64
    key: U64

    @property
    def size(self) -> int:
        return int(self.created.shape[0])


@dataclass(frozen=True, slots=True)
class Commit:
    hash: str
    user: int
    repo: str
    branch: str | None
    primary: bool | None
    source: str  # ide | cli | cloud
    tab_added: int
    tab_deleted: int
    composer_added: int
    composer_deleted: int
    non_ai_added: int
    non_ai_deleted: int
    non_ai_null: bool
    message: str
    commit_ts: int
    created: int


@dataclass(frozen=True, slots=True)
class CodeDay:
    day: int
    changes: CodeChanges
    commits: tuple[Commit, ...]  # sorted newest first (commitTs, hash, createdAt)


def team_repos(team: SimTeam) -> tuple[str, ...]:
    """The team's small set of repositories, e.g. ``acme/payments``."""
    org = team.roster.domain.split(".")[0]
    start = team.salt % len(REPO_NAMES)
    count = 3 + team.salt % 3
    return tuple(f"{org}/{REPO_NAMES[(start + i) % len(REPO_NAMES)]}" for i in range(count))


def privacy_mode(team: SimTeam, member: int) -> bool:
    """Members with privacy mode on: their changes carry no file names."""
    draw = mix64(stable_int(team.config.seed, team.salt, "privacy", member))
    return (draw >> 11) / float(1 << 53) < PRIVACY_MODE_RATE


def generate_code_day(team: SimTeam, day: int) -> CodeDay:
    generated = team.day(day)
    gen = np.random.default_rng(
        [team.config.seed & 0xFFFFFFFF, team.salt & 0xFFFFFFFF, day & 0xFFFFFFFF, 2]
    )
    on = generated.activity.active & team.member_during_day(day)
    changes = _changes(team, generated, gen, day, on)
    commits = _commits(team, generated, gen, day, on, changes)
    return CodeDay(day=day, changes=changes, commits=commits)


def line_budgets(day: Day, on: BOOL) -> tuple[I64, I64, I64, I64]:
    """Accepted lines of the day split into tab and agent shares: (tab added, tab deleted,
    composer added, composer deleted). Rounded down, so the shares never exceed the total."""
    act = day.activity
    tabs = act.tabs_accepted * on
    accepts = act.accepts * on
    # Weights follow how the day's lines were drawn (two per tab, 24 per apply).
    denom = (2 * tabs + 24 * accepts + 20).astype(np.float64)
    w_tab, w_comp = 2 * tabs / denom, 24 * accepts / denom
    added = (act.accepted_lines_added * on).astype(np.float64)
    deleted = (act.accepted_lines_deleted * on).astype(np.float64)
    return (
        np.floor(added * w_tab).astype(np.int64),
        np.floor(deleted * w_tab).astype(np.int64),
        np.floor(added * w_comp).astype(np.int64),
        np.floor(deleted * w_comp).astype(np.int64),
    )


def _changes(
    team: SimTeam, generated: Day, gen: np.random.Generator, day: int, on: BOOL
) -> CodeChanges:
    b = team.roster.behaviour
    act = generated.activity
    tab_add, tab_del, comp_add, comp_del = line_budgets(generated, on)
    counts_by_source = ((act.tabs_accepted * on).astype(np.int64), (act.accepts * on))
    parts: list[dict[str, npt.NDArray[np.generic]]] = []
    for source, counts, add, dele in (
        (SOURCE_TAB, counts_by_source[0], tab_add, tab_del),
        (SOURCE_COMPOSER, counts_by_source[1].astype(np.int64), comp_add, comp_del),
    ):
        user = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
        total = int(user.shape[0])
        starts = np.cumsum(counts) - counts
        rank = np.arange(total, dtype=np.int64) - starts[user]
        hours = gen.normal(b.center_hour[user], b.spread_hours[user]) % 24.0
        favourite = b.tab_extension if source == SOURCE_TAB else b.apply_extension
        ext = np.where(gen.random(total) < 0.75, favourite[user], gen.integers(0, 8, total))
        files = np.ones(total, dtype=np.int64)
        if source == SOURCE_COMPOSER:
            r = gen.random(total)
            files += (r < 0.35).astype(np.int64) + (r < 0.1).astype(np.int64)
        base = np.uint64(team.salt) * np.uint64(1_000_003) + np.uint64(day) * np.uint64(7907)
        parts.append(
            {
                "created": day * DAY_MS + (hours * HOUR_MS).astype(np.int64),
                "user": user,
                "source": np.full(total, source, dtype=np.int64),
                "added": _spread(gen, add, counts, starts, total),
                "deleted": _spread(gen, dele, counts, starts, total),
                "model": _models(generated, gen, user, source),
                "ext": ext.astype(np.int64),
                "files": files,
                "key": mix64_array(
                    base
                    + user.astype(np.uint64) * np.uint64(65_537)
                    + rank.astype(np.uint64) * np.uint64(3)
                    + np.uint64(source)
                ),
            }
        )
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = _within_membership(team, cols["user"].astype(np.int64), cols["created"].astype(np.int64))
    order = np.lexsort((cols["key"][keep], cols["created"][keep]))
    return CodeChanges(**{k: v[keep][order] for k, v in cols.items()})


def _spread(gen: np.random.Generator, lines: I64, counts: I64, starts: I64, total: int) -> I64:
    """Deal each member's ``lines`` out over their ``counts`` changes at random."""
    owner = np.repeat(np.arange(lines.shape[0], dtype=np.int64), lines * (counts > 0))
    slot = starts[owner] + (gen.random(owner.shape[0]) * counts[owner]).astype(np.int64)
    return np.bincount(slot, minlength=total).astype(np.int64)[:total]


def _models(generated: Day, gen: np.random.Generator, user: I64, source: int) -> I64:
    """A composer change uses the model of one of the member's requests that day."""
    total = int(user.shape[0])
    if source == SOURCE_TAB or total == 0:
        return np.full(total, NO_MODEL, dtype=np.int64)
    ev = generated.events
    if ev.size == 0:
        # No requests that day at all (a small team's quiet day): no model to take.
        return np.zeros(total, dtype=np.int64)
    n = int(max(user.max(initial=0), ev.user.max(initial=0))) + 1
    by_user = np.argsort(ev.user, kind="stable")
    counts = np.bincount(ev.user.astype(np.int64), minlength=n)
    starts = np.cumsum(counts) - counts
    has = counts[user] > 0
    pick = starts[user] + (gen.random(total) * counts[user]).astype(np.int64)
    chosen = np.where(has, pick, 0)
    models = ev.model.astype(np.int64)[by_user[np.minimum(chosen, ev.size - 1)]]
    return np.where(has, models, 0).astype(np.int64)


def _within_membership(team: SimTeam, user: I64, ts: I64) -> BOOL:
    b = team.roster.behaviour
    keep: BOOL = (ts >= b.joined_ms[user]) & (ts < b.removed_ms[user])
    return keep


def _commits(
    team: SimTeam, generated: Day, gen: np.random.Generator, day: int, on: BOOL,
    changes: CodeChanges,
) -> tuple[Commit, ...]:  # fmt: skip
    act = generated.activity
    b = team.roster.behaviour
    ev = generated.events
    cloud = np.bincount(ev.user[ev.cloud_agent != 0].astype(np.int64), minlength=on.shape[0]) > 0
    cli_mask = ev.headless & (ev.cloud_agent == 0)
    cli = np.bincount(ev.user[cli_mask].astype(np.int64), minlength=on.shape[0]) > 0
    n_commits = np.minimum(gen.poisson(1.2 + (act.accepts + act.tabs_accepted) / 60.0), 7) + 1
    repos = team_repos(team)
    out: list[Commit] = []
    for u in map(int, np.flatnonzero(on)):
        hours = np.sort(gen.normal(b.center_hour[u] + 1.0, b.spread_hours[u], n_commits[u]) % 24.0)
        times = day * DAY_MS + (hours * HOUR_MS).astype(np.int64)
        mine = changes.user == u
        ctx = _CommitContext(
            team=team, gen=gen, day=day, user=u, repos=repos,
            cloud=bool(cloud[u]), cli=bool(cli[u]),
            accepted=(int(act.accepted_lines_added[u]), int(act.accepted_lines_deleted[u])),
            change_ts=changes.created[mine], change_src=changes.source[mine],
            change_add=changes.added[mine], change_del=changes.deleted[mine],
        )  # fmt: skip
        out.extend(ctx.build(times))
    keep = [c for c in out if _within_membership_one(team, c.user, c.commit_ts)]
    keep.sort(key=lambda c: (-c.commit_ts, c.hash, c.created))
    return tuple(keep)


def _within_membership_one(team: SimTeam, user: int, ts: int) -> bool:
    b = team.roster.behaviour
    return bool(b.joined_ms[user] <= ts < b.removed_ms[user])


@dataclass(slots=True)
class _CommitContext:
    team: SimTeam
    gen: np.random.Generator
    day: int
    user: int
    repos: tuple[str, ...]
    cloud: bool
    cli: bool
    accepted: tuple[int, int]
    change_ts: I64
    change_src: I64
    change_add: I64
    change_del: I64

    def build(self, times: I64) -> list[Commit]:
        used = [0, 0, 0, 0]  # tab added, tab deleted, composer added, composer deleted
        out: list[Commit] = []
        for i, ts in enumerate(times.tolist()):
            repeated = self.team.config.quirks.ai_code_repeats and self.gen.random() < REPEAT_RATE
            lines = self._ai_lines(ts, used, 2 if repeated else 1)
            commit = self._commit(i, ts, lines)
            out.append(commit)
            if repeated:
                out.append(self._repeat(commit))
        return out

    def _ai_lines(self, ts: int, used: list[int], mult: int) -> tuple[int, int, int, int]:
        """AI lines of a commit at ``ts``: part of what was accepted and not yet committed,
        within what the daily usage counters had accrued by ``ts`` (``mult`` counts a commit
        that will be served twice)."""
        before = self.change_ts <= ts
        fraction = min(1.0, max(0.0, (ts - self.day * DAY_MS) / DAY_MS))
        result = []
        for side, (lines, accepted) in enumerate(
            ((self.change_add, self.accepted[0]), (self.change_del, self.accepted[1]))
        ):
            tab_avail = int(lines[before & (self.change_src == SOURCE_TAB)].sum()) - used[side]
            comp_avail = int(lines[before & (self.change_src == SOURCE_COMPOSER)].sum())
            comp_avail -= used[2 + side]
            tab = int(max(0, tab_avail) * self.gen.uniform(0.4, 1.0))
            comp = int(max(0, comp_avail) * self.gen.uniform(0.4, 1.0))
            # The same float arithmetic as the pro-rated daily usage counters (usage.py).
            accrued = int(np.float64(accepted) * fraction)
            budget = max(0, accrued - sum(used[side::2])) // mult
            tab = min(tab // mult, budget)
            comp = min(comp // mult, budget - tab)
            used[side] += tab * mult
            used[2 + side] += comp * mult
            result.append((tab, comp))
        return result[0][0], result[1][0], result[0][1], result[1][1]

    def _commit(self, i: int, ts: int, lines: tuple[int, int, int, int]) -> Commit:
        gen = self.gen
        r = gen.random()
        source = "cloud" if self.cloud and r < 0.35 else "cli" if self.cli and r < 0.6 else "ide"
        word = FEATURE_WORDS[int(gen.integers(0, len(FEATURE_WORDS)))]
        repo = self.repos[(self.user + int(gen.integers(0, 2))) % len(self.repos)]
        branch: str | None
        primary: bool | None
        pick = gen.random()
        if source == "cloud":
            branch, primary = f"cursor/{word}-{int(gen.integers(0, 0xFFFF)):04x}", False
        elif pick < 0.55:
            branch, primary = "main", True
        elif pick < 0.95:
            branch, primary = f"feat/{word}", False
        else:
            branch, primary = (None, None) if pick < 0.97 else (f"fix/{word}", None)
        scale = 0.3 if source == "cloud" else 1.0
        non_ai = (int(gen.poisson(20 * scale)), int(gen.poisson(7 * scale)))
        null_quirk = self.team.config.quirks.ai_code_null_lines
        lag = int(gen.exponential(4 * MINUTE_MS)) + 1000
        return Commit(
            hash=_hash(self.team, self.day, self.user, i),
            user=self.user,
            repo=repo,
            branch=branch,
            primary=primary,
            source=source,
            tab_added=lines[0],
            tab_deleted=lines[1],
            composer_added=lines[2],
            composer_deleted=lines[3],
            non_ai_added=non_ai[0],
            non_ai_deleted=non_ai[1],
            non_ai_null=null_quirk and gen.random() < NULL_NON_AI_RATE,
            message=MESSAGES[int(gen.integers(0, len(MESSAGES)))].format(w=word),
            commit_ts=ts,
            created=ts + lag,
        )

    def _repeat(self, commit: Commit) -> Commit:
        """The same commit ingested again later (pushed twice, or to a second branch)."""
        later = commit.created + int(self.gen.uniform(10 * MINUTE_MS, 6 * HOUR_MS))
        branch, primary = commit.branch, commit.primary
        if commit.primary is False and commit.source != "cloud":
            branch, primary = "main", True
        return Commit(
            **{
                **{f: getattr(commit, f) for f in Commit.__dataclass_fields__},
                "created": later,
                "branch": branch,
                "primary": primary,
            }
        )


def _hash(team: SimTeam, day: int, user: int, i: int) -> str:
    a = mix64(stable_int(team.config.seed, team.salt, "commit", day, user, i))
    return f"{a:016x}{mix64(a):016x}{mix64(a + 1) & 0xFFFFFFFF:08x}"
