"""The analyses: who holds a seat and uses it, and what was consumed, by whom, on what."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

from . import consumption_repository, repository, vendors
from . import settings as account_settings
from .consumption_repository import CONSUMPTION_METRICS, ConsumptionQuery
from .repository import LastActive, SeatHolder


class ScopeError(ValueError):
    """The request named no scope, or two."""


class ScopeNotFoundError(LookupError):
    """No account with this id (or no account of this tenant) in the caller's environment
    (``None``: any environment, for operators at the CLI)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What an analysis covers: one integrated account, or every account of a tenant."""

    accounts: tuple[IntegratedAccount, ...]
    integrated_account_id: str | None = None
    tenant_id: str | None = None
    # Only these products (tools): the accounts are those of vendors offering one of them,
    # and usage is read for them alone. None: every product of the accounts.
    products: tuple[str, ...] | None = None

    @property
    def account_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.accounts)

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = (
            {"integrated_account_id": self.integrated_account_id}
            if self.integrated_account_id is not None
            else {"tenant_id": str(self.tenant_id)}
        )
        if self.products is not None:
            described["products"] = list(self.products)
        return described


async def resolve_scope(
    runtime: Runtime,
    environment_id: str | None,
    *,
    integrated_account_id: str | None,
    tenant_id: str | None,
    products: Sequence[str] | None = None,
) -> Scope:
    if (integrated_account_id is None) == (tenant_id is None):
        raise ScopeError("give exactly one of integrated_account_id and tenant_id")
    async with runtime.db.scanner() as session:
        accounts = await repository.accounts_of(
            session, environment_id, account_id=integrated_account_id, tenant_id=tenant_id
        )
    if not accounts:
        what = "integrated account" if integrated_account_id else "tenant"
        raise ScopeNotFoundError(f"{what} not found")
    chosen = tuple(dict.fromkeys(p.strip() for p in products or () if p.strip())) or None
    if chosen is not None:
        accounts = _offering(runtime, accounts, chosen)
    return Scope(tuple(accounts), integrated_account_id, tenant_id, chosen)


def _offering(
    runtime: Runtime, accounts: Sequence[IntegratedAccount], products: tuple[str, ...]
) -> list[IntegratedAccount]:
    """The accounts whose vendor offers one of ``products``; an unknown product is a
    ScopeError, a scope without any of them a ScopeNotFoundError."""
    known = {p.id for c in runtime.registry.all() for p in c.products}
    unknown = [p for p in products if p not in known]
    if unknown:
        raise ScopeError(
            f"unknown product(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    offered = vendors.products_by_account(runtime, accounts)
    kept = [a for a in accounts if set(offered[a.id]) & set(products)]
    if not kept:
        raise ScopeNotFoundError(f"no account in scope offers {', '.join(products)}")
    return kept


def today(runtime: Runtime) -> dt.date:
    """Today in UTC by the runtime's clock (tests bind it to the simulator's)."""
    return dt.datetime.fromtimestamp(runtime.clock() / 1000, tz=dt.UTC).date()


# The longest range one query may cover: ten years of daily rollups.
MAX_RANGE_DAYS = 3660


class RangeError(ValueError):
    """A range that ends before it starts, or covers more than MAX_RANGE_DAYS."""


def date_range(
    runtime: Runtime, start: dt.date | None, end: dt.date | None, default_days: int
) -> tuple[dt.date, dt.date]:
    """``[start, end)`` as every analysis reads it: ``end`` defaults to tomorrow (today
    included), ``start`` to ``default_days`` before ``end``. One place, so each surface (the
    API, the MCP server) answers the same range for the same arguments."""
    end = end or today(runtime) + dt.timedelta(days=1)
    start = start or end - dt.timedelta(days=default_days)
    if start >= end:
        raise RangeError("start_date must be before end_date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise RangeError(f"a range covers at most {MAX_RANGE_DAYS} days")
    return start, end


# --- seats ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Seat:
    holder: SeatHolder
    last_active: dt.date | None


@dataclass(frozen=True, slots=True)
class SeatsReport:
    scope: Scope
    as_of: dt.date
    idle_days: int
    seats: list[Seat]
    # Monthly seat price per account, where one is set.
    prices: dict[str, int]
    # Each account's products (tools) in scope: its seats are seats in each of them.
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def active_within(self, days: int) -> int:
        first = self.as_of - dt.timedelta(days=days - 1)
        return sum(1 for s in self.seats if s.last_active is not None and s.last_active >= first)

    @property
    def idle(self) -> list[Seat]:
        first = self.as_of - dt.timedelta(days=self.idle_days - 1)
        idle = [s for s in self.seats if s.last_active is not None and s.last_active < first]
        return sorted(idle, key=lambda s: (s.last_active, s.holder.email))

    @property
    def never_used(self) -> list[Seat]:
        return [s for s in self.seats if s.last_active is None]

    def reclaimable(self) -> tuple[int, int, int]:
        """``(cents_e6 per month, seats priced, seats without a price)`` over idle and
        never-used seats."""
        amount = priced = unpriced = 0
        for seat in [*self.idle, *self.never_used]:
            price = self.prices.get(seat.holder.account_id)
            if price is None:
                unpriced += 1
            else:
                amount += price
                priced += 1
        return amount, priced, unpriced

    def per_product(self) -> dict[str, SeatsReport]:
        """The report of each product's seats, when the scope holds several products."""
        found = sorted({p for ps in self.products.values() for p in ps})
        if len(found) < 2:
            return {}
        kept = {
            product: [
                s for s in self.seats if product in self.products.get(s.holder.account_id, ())
            ]
            for product in found
        }
        return {product: dataclasses.replace(self, seats=seats) for product, seats in kept.items()}


async def seats(runtime: Runtime, scope: Scope, as_of: dt.date, idle_days: int) -> SeatsReport:
    ids = scope.account_ids
    async with runtime.db.scanner() as session:
        holders = await repository.seat_holders(session, ids)
        emails = await repository.member_emails(session, ids)
        activity = await repository.last_active_days(session, ids, as_of, scope.products)
    last = _last_active_by_member(emails, activity)
    settings = await account_settings.for_accounts(runtime, ids)
    prices = {
        account: s.seat_price_cents_e6
        for account, s in settings.items()
        if s.seat_price_cents_e6 is not None
    }
    return SeatsReport(
        scope=scope,
        as_of=as_of,
        idle_days=idle_days,
        seats=[Seat(h, last.get(h.member_id)) for h in holders],
        prices=prices,
        products=_in_scope(vendors.products_by_account(runtime, scope.accounts), scope.products),
    )


def _in_scope(
    offered: dict[str, tuple[str, ...]], products: tuple[str, ...] | None
) -> dict[str, tuple[str, ...]]:
    if products is None:
        return offered
    return {a: tuple(p for p in ps if p in products) for a, ps in offered.items()}


def _last_active_by_member(
    emails: Sequence[tuple[str, int, str]], activity: Sequence[LastActive]
) -> dict[int, dt.date]:
    """Each member's last active day, matching rows without a member by any email the
    member was seen with (emails compare case-insensitively)."""
    by_email = {(account, email.lower()): member for account, member, email in emails}
    last: dict[int, dt.date] = {}
    for row in activity:
        member = row.member_id
        if member is None and row.email:
            member = by_email.get((row.account_id, row.email.lower()))
        if member is not None and (member not in last or row.day > last[member]):
            last[member] = row.day
    return last


# --- consumption ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsumptionPage:
    rows: list[dict[str, Any]]
    next_key: list[Any] | None
    totals: dict[str, int]
    # The part of the totals outside the top N groups (only with ``top``).
    others: dict[str, int] | None
    # Per account, the charge types its vendor does not report: unknown, not zero (the
    # rollups keep an unknown as 0).
    unreported: dict[str, frozenset[str]] = field(default_factory=dict)

    def unknown(self, account_id: str | None = None) -> frozenset[str]:
        """What is unknown in one account's rows, or (None) in totals over the scope."""
        if account_id is not None:
            return self.unreported.get(account_id, frozenset())
        return frozenset().union(*self.unreported.values())


def _metrics(values: Sequence[Any]) -> dict[str, int]:
    return {name: int(v or 0) for name, v in zip(CONSUMPTION_METRICS, values, strict=True)}


def consumption_query(
    scope: Scope, start: dt.date, end: dt.date, dims: Sequence[str], granularity: str,
    emails: Sequence[str] | None = None, models: Sequence[str] | None = None,
) -> ConsumptionQuery:  # fmt: skip
    """The query of a consumption answer grouped by ``dims`` (user, model, product)."""
    return ConsumptionQuery(
        account_ids=scope.account_ids, start=start, end=end, by_user="user" in dims,
        by_model="model" in dims, granularity=granularity,
        emails=tuple(emails) if emails else None, models=tuple(models) if models else None,
        products=scope.products, by_product="product" in dims,
    )  # fmt: skip


async def consumption(
    runtime: Runtime,
    q: ConsumptionQuery,
    *,
    limit: int,
    after: Sequence[Any] | None = None,
    top: int | None = None,
    in_runs: bool = True,
) -> ConsumptionPage:
    async with runtime.db.scanner() as session:
        groups = (
            await consumption_repository.top_groups(session, q, top) if top is not None else None
        )
        rows = await consumption_repository.consumption(
            session, q, limit=limit, after=after, groups=groups, in_runs=in_runs
        )
        totals = _metrics(await consumption_repository.consumption_totals(session, q))
        accounts = await consumption_repository.integrations(session, q.account_ids)
        others = None
        if groups is not None:
            kept = _metrics(await consumption_repository.consumption_totals(session, q, groups))
            others = {name: totals[name] - kept[name] for name in totals}
    page = rows[:limit]
    ranks = {group: n for n, group in enumerate(groups or (), start=1)}
    result = [
        {
            "period": _as_date(row[0]),
            "account_id": row[1],
            "user_email": row[2],
            "model": row[3],
            "product": row[4],
            **_metrics(row[5:]),
            **({"rank": ranks[(row[1], row[2], row[3], row[4])]} if groups is not None else {}),
        }
        for row in page
    ]
    next_key = None
    if len(rows) > limit and page:
        last = page[-1]
        group = (last[1], last[2], last[3], last[4])
        # With top, each period's rows come costliest first: the keyset is (period, rank).
        key = list(group) if q.by_product else list(group[:3])
        rest = [ranks[group]] if groups is not None else key
        next_key = [_as_date(last[0]).isoformat(), *rest]
    return ConsumptionPage(
        result,
        next_key,
        totals,
        others,
        {account: vendors.unreported_charges(runtime, slug) for account, slug in accounts.items()},
    )


async def consumption_all(
    runtime: Runtime, q: ConsumptionQuery, *, top: int | None = None, page_size: int = 5000
) -> ConsumptionPage:
    """Every row of a consumption query, read page by page (each from the whole range after
    its cursor: every page is read)."""
    first = await consumption(runtime, q, limit=page_size, top=top, in_runs=False)
    rows, key = list(first.rows), first.next_key
    while key is not None:
        after = cursor_key(key)
        page = await consumption(runtime, q, limit=page_size, after=after, top=top, in_runs=False)
        rows += page.rows
        key = page.next_key
    return ConsumptionPage(rows, None, first.totals, first.others, first.unreported)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def cursor_key(key: Sequence[Any]) -> list[Any]:
    """A consumption cursor's key with its period back as a date."""
    period, *rest = key
    return [dt.date.fromisoformat(str(period)), *rest]
