"""FinOps exports: FOCUS cost rows, consumption and chargeback, as typed tables.

Each export is a ``Table``: its columns and an async iterator of rows, produced only when
read, so the HTTP API can stream it and the CLI can write it to a file. Scope, range and
options are checked before anything is read: a bad request fails before the first byte.
Money is exact (``Decimal`` dollars from the stored cents * 10**6).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from unimeter.analytics import chargeback as charges
from unimeter.analytics import service as analytics
from unimeter.analytics import vendors
from unimeter.analytics.chargeback import ChargeBy, SourceChoice
from unimeter.analytics.consumption_repository import ConsumptionQuery
from unimeter.analytics.render import known_events, period_end
from unimeter.analytics.service import Scope
from unimeter.db.models import IntegratedAccount
from unimeter.runtime import Runtime

from . import focus as focus_spec
from . import repository
from .focus import money
from .tables import Column, Row

# The longest range one export covers: ten years of days (as the analytics API).
MAX_RANGE_DAYS = 3660
DEFAULT_DAYS = 30
DIMENSIONS = ("user", "model")  # the default grouping
ALL_DIMENSIONS = ("user", "model", "product")
GRANULARITIES = ("day", "week", "month", "total")
CHARGE_BY = ("team", "cost_center")
SOURCES = ("auto", "directory", "billing_groups")


class ExportError(ValueError):
    """An export that cannot be produced as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # a file name without extension: what, whose, which days
    columns: tuple[Column, ...]
    rows: Callable[[], AsyncIterator[Row]]


def date_range(
    runtime: Runtime, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    """``[start, end)`` in UTC days; by default the 30 days up to today included."""
    try:
        end = end or analytics.today(runtime) + dt.timedelta(days=1)
        start = start or end - dt.timedelta(days=DEFAULT_DAYS)
    except OverflowError:
        raise ExportError("the dates are out of range") from None
    if start >= end:
        raise ExportError("the start date must be before the end date")
    if (end - start).days > MAX_RANGE_DAYS:
        raise ExportError(f"an export covers at most {MAX_RANGE_DAYS} days")
    return start, end


def _name(kind: str, scope: Scope, start: dt.date, end: dt.date) -> str:
    owner = scope.integrated_account_id or f"tenant-{scope.tenant_id}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", owner)[:80]
    return f"{kind}-{safe}-{start.isoformat()}-{end.isoformat()}"


# --- FOCUS ------------------------------------------------------------------------------


def focus(runtime: Runtime, scope: Scope, start: dt.date, end: dt.date) -> Table:
    """FOCUS 1.2 rows, one per (account, day, user, model, product) with usage
    (exports/focus.py); none for a product in its vendor's ``estimated_charges``."""
    accounts = {a.id: _focus_account(runtime, a) for a in scope.accounts}
    # FOCUS is invoice-grade: a product whose charges the vendor only estimates has no row.
    estimated = {a.id: vendors.estimated_charges(runtime, a.integration) for a in scope.accounts}

    async def rows() -> AsyncIterator[Row]:
        async with runtime.db.scanner() as session:
            names = await repository.member_names(session, scope.account_ids)
            found_rows = repository.charges(session, scope.account_ids, start, end, scope.products)
            async for found in found_rows:
                account_id, day, email, model, product, *metrics = found
                if product in estimated[account_id]:
                    continue
                charge = focus_spec.Charge(
                    account_id, _as_date(day), email, model, product,
                    *(None if v is None else int(v) for v in metrics),
                )  # fmt: skip
                name = names.get((account_id, email.lower()))
                yield focus_spec.row(charge, accounts[account_id], name)

    return Table(_name("focus", scope, start, end), focus_spec.TABLE, rows)


def _focus_account(runtime: Runtime, account: IntegratedAccount) -> focus_spec.Account:
    """What a FOCUS row needs of an account: its vendor and products, named by the
    connector."""
    connector = runtime.connector(account.integration)
    services = {p.id: p.name for p in connector.products}
    return focus_spec.Account(
        account.id, account.name, account.tenant_id, connector.display_name, services
    )


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


# --- consumption and chargeback -----------------------------------------------------------

_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_MONEY = (("charged", "charged_cents_e6"), ("included", "included_cents_e6"),
          ("usage_based", "usage_based_cents_e6"))  # fmt: skip
_METRIC_COLUMNS = (
    # Null where the vendor does not count requests (see ``render.known_events``).
    Column("events", "int"),
    *(Column(name, "int", nullable=False) for name in _TOKENS),
    Column("total_tokens", "int", nullable=False),
    Column("charged", "decimal", nullable=False),
    # Null where the vendor does not split its charges (see ``ConsumptionPage.unknown``).
    *(Column(name, "decimal") for name, _ in _MONEY[1:]),
    Column("currency", "string", nullable=False),
)
_PERIOD_COLUMNS = (
    Column("period_start", "date", nullable=False),
    Column("period_end", "date", nullable=False),
)


def _metrics(values: dict[str, int], unknown: frozenset[str] = frozenset()) -> list[object]:
    tokens = [int(values[name]) for name in _TOKENS]
    amounts: list[Decimal | None] = [
        None if column in unknown else money(int(values[column])) for _, column in _MONEY
    ]
    return [known_events(values), *tokens, sum(tokens), *amounts, "USD"]


def consumption_columns(dims: tuple[str, ...]) -> tuple[Column, ...]:
    keys: list[Column] = []
    if "user" in dims:
        keys += [Column("integrated_account_id", "string", nullable=False),
                 Column("user_email", "string", nullable=False)]  # fmt: skip
    if "model" in dims:
        keys.append(Column("model", "string", nullable=False))
    if "product" in dims:
        keys.append(Column("product", "string", nullable=False))
    return (*_PERIOD_COLUMNS, *keys, *_METRIC_COLUMNS)


def consumption(
    runtime: Runtime,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    *,
    dims: tuple[str, ...],
    granularity: str,
) -> Table:
    """Tokens and cost by user and/or model per period: the rows of the consumption
    analysis (``/analytics/consumption``), every page of them."""
    dims = tuple(dict.fromkeys(dims))
    if not dims or not set(dims) <= set(ALL_DIMENSIONS):
        raise ExportError("group by user, model, product, or several of them")
    if granularity not in GRANULARITIES:
        raise ExportError("the granularity is day, week, month or total")
    q = ConsumptionQuery(
        account_ids=scope.account_ids, start=start, end=end, by_user="user" in dims,
        by_model="model" in dims, granularity=granularity, products=scope.products,
        by_product="product" in dims,
    )  # fmt: skip

    async def rows() -> AsyncIterator[Row]:
        page = await analytics.consumption_all(runtime, q)
        for r in page.rows:
            period: dt.date = r["period"]
            keys: list[object] = []
            if "user" in dims:
                keys += [r["account_id"], r["user_email"]]
            if "model" in dims:
                keys.append(r["model"])
            if "product" in dims:
                keys.append(r["product"])
            unknown = page.unknown(r["account_id"] if "user" in dims else None)
            yield (period, period_end(period, granularity, end), *keys, *_metrics(r, unknown))

    return Table(_name("consumption", scope, start, end), consumption_columns(dims), rows)


def chargeback_columns(by: str) -> tuple[Column, ...]:
    return (
        *_PERIOD_COLUMNS,
        Column(by, "string"),
        Column("unallocated", "bool", nullable=False),
        Column("users", "int", nullable=False),
        *_METRIC_COLUMNS,
    )


async def chargeback(
    runtime: Runtime,
    scope: Scope,
    start: dt.date,
    end: dt.date,
    *,
    by: str,
    granularity: str,
    source: str,
) -> Table:
    """Cost per team or cost center per period, the unallocated bucket (null name) last in
    each period, as ``/analytics/chargeback``. Computed here, so a chargeback that cannot
    be made fails before the export starts."""
    if granularity not in GRANULARITIES:
        raise ExportError("the granularity is day, week, month or total")
    if by not in CHARGE_BY:
        raise ExportError("charge by team or cost_center")
    if source not in SOURCES:
        raise ExportError("the source is auto, directory or billing_groups")
    try:
        report = await charges.chargeback(
            runtime, scope, start=start, end=end, by=cast(ChargeBy, by),
            granularity=granularity, source=cast(SourceChoice, source),
        )  # fmt: skip
    except charges.ChargebackError as exc:
        raise ExportError(str(exc)) from exc
    keys = sorted(report.charges, key=lambda k: (k[0], k[1] is None, k[1] or ""))

    async def rows() -> AsyncIterator[Row]:
        for period, name in keys:
            charge = report.charges[(period, name)]
            end_of = period_end(period, granularity, end)
            yield (period, end_of, name, name is None, len(charge.users), *_metrics(charge.metrics))

    return Table(_name(f"chargeback-{by}", scope, start, end), chargeback_columns(by), rows)
