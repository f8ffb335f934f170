"""Directory uploads, the effective-dated team map, chargeback and spend reconciliation."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import UNASSIGNED_GROUP_TYPE
from unimeter.runtime import Runtime

from . import coverage, records_repository, repository
from . import directory as directory_upload
from .consumption_repository import CONSUMPTION_METRICS, ConsumptionQuery, every_group
from .coverage import Note
from .service import Scope
from .teams import Assignment, Source, TeamMap, day_of

SourceChoice = Literal["auto", "directory", "billing_groups"]
ChargeBy = Literal["team", "cost_center"]


class ChargebackError(ValueError):
    """A chargeback that cannot be computed as asked (e.g. cost centers without a directory)."""


# --- directory ------------------------------------------------------------------------------


async def replace_directory(
    runtime: Runtime, scope: Scope, body: bytes, content_type: str
) -> list[directory_upload.Entry]:
    """Parse the upload and, only if all of it is valid, make it the directory of every
    account in scope, in one transaction."""
    entries = directory_upload.parse(body, content_type)
    rows = [{**dataclasses.asdict(e), "aliases": list(e.aliases) or None} for e in entries]
    async with runtime.db.session() as session:
        for account_id in scope.account_ids:
            await repository.replace_directory(session, account_id, rows)
    return entries


async def directory_entries(runtime: Runtime, account_id: str) -> list[dict[str, Any]]:
    async with runtime.db.scanner() as session:
        entries = await repository.directory(session, account_id)
    return [
        {
            **{k: getattr(e, k) for k in ("line", "email", "name", "team", "cost_center")},
            "status": e.status,
            "valid_from": e.valid_from.isoformat() if e.valid_from else None,
            "valid_to": e.valid_to.isoformat() if e.valid_to else None,
            "aliases": list(e.aliases or ()),
        }
        for e in entries
    ]


# --- team map -------------------------------------------------------------------------------


async def team_map(session: AsyncSession, account_id: str, choice: SourceChoice) -> TeamMap:
    source: Source
    if choice == "auto":
        source = (
            "directory"
            if await repository.has_directory(session, account_id)
            else ("billing_groups")
        )
    else:
        source = choice
    if source == "directory":
        entries = await repository.directory(session, account_id)
        return TeamMap(source, [
            Assignment(
                email=e.email, team=e.team, cost_center=e.cost_center,
                first_day=e.valid_from or dt.date.min, last_day=e.valid_to, starts_at=e.line,
                status=e.status,
            )
            for e in entries
        ], directory_upload.alias_map(entries))  # fmt: skip
    stints = await repository.group_stints(session, account_id)
    # Membership of the vendor's "no group" group is no team: those days are unallocated.
    return TeamMap(source, [
        Assignment(
            email=s.email, team=s.group_name, cost_center=None, first_day=day_of(s.joined_at),
            last_day=day_of(s.left_at - 1) if s.left_at is not None else None,
            starts_at=s.joined_at,
        )
        for s in stints
        if s.email and s.group_type != UNASSIGNED_GROUP_TYPE
    ])  # fmt: skip


async def team_maps(runtime: Runtime, scope: Scope, choice: SourceChoice) -> dict[str, TeamMap]:
    async with runtime.db.scanner() as session:
        return {a: await team_map(session, a, choice) for a in scope.account_ids}


async def team_maps_noted(
    runtime: Runtime, scope: Scope, choice: SourceChoice
) -> tuple[dict[str, TeamMap], list[Note]]:
    """The team maps, and a note for each account that has none to offer."""
    maps = await team_maps(runtime, scope, choice)
    return maps, coverage.team_notes(await coverage.gaps(runtime, scope), maps)


# --- chargeback -----------------------------------------------------------------------------


def bucket(day: dt.date, granularity: str, start: dt.date) -> dt.date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return start


@dataclass(slots=True)
class Charge:
    metrics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONSUMPTION_METRICS, 0))
    users: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def of(cls, rows: list[Sequence[Any]], users: set[tuple[str, str]]) -> Charge:
        """The sums of ``rows`` (each ``CONSUMPTION_METRICS`` values), column by column."""
        if not rows:
            return cls(users=users)
        sums = [int(sum(column)) for column in zip(*rows, strict=True)]
        return cls(dict(zip(CONSUMPTION_METRICS, sums, strict=True)), users)


Bucket = tuple[dt.date, str | None]  # (period, team or cost center; None = unallocated)


@dataclass(frozen=True, slots=True)
class ChargebackReport:
    by: ChargeBy
    sources: dict[str, str]  # account → the source its mapping came from
    charges: dict[Bucket, Charge]
    total: Charge
    # Accounts whose people have no team at all (no billing groups, no directory).
    notes: list[Note] = field(default_factory=list)
    # Each bucket's charge per product (tool): a team's cost is the sum over every tool its
    # people use.
    products: dict[Bucket, dict[str, Charge]] = field(default_factory=dict)


def person(maps: dict[str, TeamMap], account_id: str, email: str) -> tuple[str, str]:
    """Who a row's user is across accounts: their primary email (directory aliases
    resolved); usage nobody is attributed to stays the account's own."""
    return ("", maps[account_id].resolve(email)) if email else (account_id, "")


async def chargeback(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, by: ChargeBy,
    granularity: str, source: SourceChoice,
) -> ChargebackReport:  # fmt: skip
    maps, notes = await team_maps_noted(runtime, scope, source)
    if by == "cost_center" and any(m.source != "directory" for m in maps.values()):
        raise ChargebackError(
            "cost centers come from a directory upload (PUT /directory); billing groups have none"
        )
    rows: dict[tuple[Bucket, str], list[Sequence[Any]]] = defaultdict(list)
    users: dict[tuple[Bucket, str], set[tuple[str, str]]] = defaultdict(set)
    costs = await _costs(runtime, scope, maps, start, end, granularity)
    for day, account_id, email, product, values in costs:
        found = maps[account_id].at(email, day) if email else None
        key = (bucket(day, granularity, start),
               (found.team if by == "team" else found.cost_center) if found else None)  # fmt: skip
        rows[(key, product)].append(values)
        users[(key, product)].add(person(maps, account_id, email))
    per_product: dict[Bucket, dict[str, Charge]] = defaultdict(dict)
    for (key, product), values in rows.items():
        per_product[key][product] = Charge.of(values, users[(key, product)])
    charges = {
        key: Charge.of(
            [list(c.metrics.values()) for c in split.values()],
            set().union(*(c.users for c in split.values())),
        )
        for key, split in per_product.items()
    }
    everyone = set().union(*users.values())
    total = Charge.of([list(c.metrics.values()) for c in charges.values()], everyone)
    return ChargebackReport(
        by, {a: m.source for a, m in maps.items()}, charges, total, notes, dict(per_product)
    )


async def _costs(
    runtime: Runtime, scope: Scope, maps: dict[str, TeamMap], start: dt.date, end: dt.date,
    granularity: str,
) -> list[tuple[dt.date, str, str, str, Sequence[Any]]]:  # fmt: skip
    """``(day, account, user, product, metrics)`` to charge on that day's team: one row per
    user, product and period, summed in SQL, for users whose team holds over the whole
    range; one per day for the few who change teams within it. Each row's day lies in its
    period."""
    async with runtime.db.scanner() as session:
        q = ConsumptionQuery(
            scope.account_ids, start, end, True, False, granularity, products=scope.products,
            by_product=True,
        )  # fmt: skip
        periods = [(a, e, p, d, *v) for p, a, e, _, d, *v in await every_group(session, q)]
        movers = sorted({(a, e) for a, e, *_ in periods
                         if e and not maps[a].steady(e, start, end)})  # fmt: skip
        days = (
            await repository.cost_by_user_day(session, movers, start, end, scope.products)
            if movers
            else []
        )
    moved = set(movers)
    steady = [(max(p, start), a, e, d, v) for a, e, p, d, *v in periods if (a, e) not in moved]
    return steady + [(day, a, e, d, v) for a, e, day, d, *v in days]


# --- reconciliation -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberDrift:
    email: str
    billed: int  # what the vendor's spend snapshot says, cents * 10**6
    events: int  # the sum of the stored events' charges over the same span

    @property
    def drift(self) -> int:
        return self.events - self.billed


@dataclass(frozen=True, slots=True)
class CycleReconciliation:
    account_id: str
    cycle_start_ms: int
    snapshot_taken_at: int
    members: list[MemberDrift]

    @property
    def billed(self) -> int:
        return sum(m.billed for m in self.members)

    @property
    def events(self) -> int:
        return sum(m.events for m in self.members)


async def reconcile(runtime: Runtime, scope: Scope) -> list[CycleReconciliation]:
    """For each billing cycle with a spend snapshot: each member's billed spend (the latest
    snapshot) against the sum of their stored events' charges from the cycle start to the
    snapshot."""
    out = []
    async with runtime.db.scanner() as session:
        for cycle in await records_repository.latest_snapshots(session, scope.account_ids):
            charged = await records_repository.charged_by_user(
                session, cycle.account_id, cycle.cycle_start_ms, cycle.taken_at
            )
            emails = sorted(set(cycle.overall) | set(charged))
            members = [MemberDrift(e, cycle.overall.get(e, 0), charged.get(e, 0)) for e in emails]
            out.append(
                CycleReconciliation(cycle.account_id, cycle.cycle_start_ms, cycle.taken_at, members)
            )
    return out
