"""One person across tools: seats, cost, tokens and active days per product.

A tenant links several vendors' workspaces; the same person is a member of several of
them. Two members (or usage rows) are the same person when their emails match, compared
case-insensitively, after a directory alias is replaced by its primary email. A person
holds a seat in a product when they are a member of an account of a vendor offering it,
not removed as of the day asked for. The *tools* a person holds are the vendors they hold a
seat with (``cursor``, ``anthropic``): one vendor's products (Claude Code and the Claude
API) are one tool, so "people who hold several tools" means several vendors.

Charges of a product its vendor only estimates (``FactProfile.estimated_charges``) count in
a person's cost, and the product's line says ``estimated``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from unimeter.kit.money import dollars
from unimeter.runtime import Runtime

from . import people_repository as repo
from . import render, vendors
from .consumption_repository import CONSUMPTION_METRICS
from .service import Scope

Sort = Literal["-cost", "cost", "email"]
DAY_MS = 86_400_000


@dataclass(slots=True)
class Line:
    """One person's use of one product."""

    product: str
    integrations: set[str] = field(default_factory=set)
    seats: int = 0  # memberships holding a seat in it
    days: set[dt.date] = field(default_factory=set)
    metrics: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CONSUMPTION_METRICS, 0))
    estimated: bool = False
    # Charge types unknown for this line (a vendor that does not split its charges).
    unknown: frozenset[str] = frozenset()

    def add(self, metrics: dict[str, int]) -> None:
        for name, value in metrics.items():
            self.metrics[name] += value


@dataclass(slots=True)
class Person:
    email: str  # the primary email, lower case
    name: str | None = None
    emails: set[str] = field(default_factory=set)
    lines: dict[str, Line] = field(default_factory=dict)
    # The vendors (integration slugs) they hold a seat with.
    seated: set[str] = field(default_factory=set)

    def line(self, product: str) -> Line:
        return self.lines.setdefault(product, Line(product))

    @property
    def tools(self) -> list[str]:
        return sorted(self.seated)

    @property
    def cost(self) -> int:
        return sum(line.metrics["charged_cents_e6"] for line in self.lines.values())


@dataclass(frozen=True, slots=True)
class PeopleReport:
    scope: Scope
    start: dt.date
    end: dt.date
    as_of: dt.date
    people: list[Person]  # sorted as asked
    # Seats (memberships) per product, and usage no person is attributed to.
    seats: dict[str, int]
    unattributed: dict[str, dict[str, int]]
    names: dict[str, str]


def _resolver(pairs: list[tuple[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for email, aliases in pairs:
        for alias in aliases if isinstance(aliases, list) else ():
            found.setdefault(str(alias).lower(), email.lower())
    return found


def _holds_seat(m: repo.MemberRow, as_of: dt.date) -> bool:
    """Not removed as of the end of ``as_of`` (a removal without a time: removed)."""
    if not m.is_removed:
        return True
    end_ms = ((as_of - dt.date(1970, 1, 1)).days + 1) * DAY_MS
    return m.removed_at is not None and m.removed_at >= end_ms


async def people(
    runtime: Runtime, scope: Scope, *, start: dt.date, end: dt.date, as_of: dt.date, sort: Sort
) -> PeopleReport:
    async with runtime.db.scanner() as session:
        members = await repo.members(session, scope.account_ids)
        usage = await repo.usage(session, scope.account_ids, start, end, scope.products)
        resolve = _resolver(await repo.aliases(session, scope.account_ids))
    integration = {a.id: a.integration for a in scope.accounts}
    offered = vendors.products_by_account(runtime, scope.accounts)
    wanted = set(scope.products) if scope.products is not None else None
    found: dict[str, Person] = {}

    def person(email: str) -> Person:
        key = resolve.get(email.lower(), email.lower())
        p = found.setdefault(key, Person(key))
        p.emails.add(email.lower())
        return p

    seats: Counter[str] = Counter()
    for m in members:
        if not _holds_seat(m, as_of):
            continue
        for product in offered.get(m.account_id, ()):
            if wanted is not None and product not in wanted:
                continue
            who = person(m.email)
            who.name = who.name or m.name
            line = who.line(product)
            line.seats += 1
            line.integrations.add(integration[m.account_id])
            who.seated.add(integration[m.account_id])
            # Whether the product's charges are estimates is the product's, used or not.
            line.estimated |= product in vendors.estimated_charges(
                runtime, integration[m.account_id]
            )
            seats[product] += 1
    unattributed: dict[str, dict[str, int]] = {}
    for row in usage:
        if not row.user_email:
            sums = unattributed.setdefault(row.product, dict.fromkeys(CONSUMPTION_METRICS, 0))
            for name, value in row.metrics.items():
                sums[name] += value
            continue
        slug = integration[row.account_id]
        line = person(row.user_email).line(row.product)
        line.integrations.add(slug)
        line.days |= row.days
        line.add(row.metrics)
        line.estimated |= row.product in vendors.estimated_charges(runtime, slug)
        line.unknown |= vendors.unreported_charges(runtime, slug)
    return PeopleReport(
        scope, start, end, as_of, _sorted(list(found.values()), sort), dict(seats), unattributed,
        vendors.product_names(runtime),
    )  # fmt: skip


def _sorted(people: list[Person], sort: Sort) -> list[Person]:
    if sort == "email":
        return sorted(people, key=lambda p: p.email)
    sign = -1 if sort == "-cost" else 1
    return sorted(people, key=lambda p: (sign * p.cost, p.email))


def sort_key(p: Person, sort: Sort) -> list[Any]:
    """The keyset of ``p`` in the order asked for (the cursor holds it)."""
    return [p.email] if sort == "email" else [p.cost, p.email]


def after(people: list[Person], key: list[Any], sort: Sort) -> list[Person]:
    """The people after the cursor ``key`` in the order asked for."""
    if sort == "email":
        return [p for p in people if p.email > str(key[0])]
    cost, email = int(key[0]), str(key[1])
    if sort == "-cost":
        return [p for p in people if (-p.cost, p.email) > (-cost, email)]
    return [p for p in people if (p.cost, p.email) > (cost, email)]


# --- the answer ----------------------------------------------------------------------------


def _line(line: Line, names: dict[str, str]) -> dict[str, Any]:
    return {
        "product": line.product,
        "name": names.get(line.product, line.product),
        "integrations": sorted(line.integrations),
        "seat": line.seats > 0,
        "active_days": len(line.days),
        "estimated": line.estimated,
        **render.totals(line.metrics, line.unknown),
    }


def person_body(p: Person, names: dict[str, str]) -> dict[str, Any]:
    lines = [p.lines[k] for k in sorted(p.lines)]
    total = dict.fromkeys(CONSUMPTION_METRICS, 0)
    for line in lines:
        for name, value in line.metrics.items():
            total[name] += value
    unknown = frozenset().union(*(line.unknown for line in lines))
    estimated = sum(line.metrics["charged_cents_e6"] for line in lines if line.estimated)
    return {
        "email": p.email,
        "name": p.name,
        "emails": sorted(p.emails),
        "tools": p.tools,
        "products": [_line(line, names) for line in lines],
        "total": render.totals(total, unknown),
        "estimated_cost": dollars(estimated),
    }


def summary(report: PeopleReport) -> dict[str, Any]:
    """Counts over every person of the answer (not only one page)."""
    per_tool: Counter[str] = Counter()
    active: Counter[str] = Counter()
    combos: Counter[tuple[str, ...]] = Counter()
    for p in report.people:
        for product, line in p.lines.items():
            per_tool[product] += line.seats > 0
            active[product] += bool(line.days)
        if len(p.tools) > 1:
            combos[tuple(p.tools)] += 1
    products = sorted(set(per_tool) | set(report.seats) | set(report.unattributed))
    return {
        "people": len(report.people),
        "tools": [
            {
                "product": product,
                "name": report.names.get(product, product),
                "seats": report.seats.get(product, 0),
                "people": per_tool[product],
                "active_people": active[product],
                "cost": dollars(sum(p.lines[product].metrics["charged_cents_e6"]
                                    for p in report.people if product in p.lines)),
                "unattributed_cost": dollars(
                    report.unattributed.get(product, {}).get("charged_cents_e6", 0)
                ),
            }
            for product in products
        ],
        "multi_tool_people": sum(combos.values()),
        "combinations": [
            {"tools": list(tools), "people": n}
            for tools, n in sorted(combos.items(), key=lambda c: (-c[1], c[0]))
        ],
    }  # fmt: skip
