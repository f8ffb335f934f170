"""Usage records kept rendered: the default grain of a vendor with one product.

Each record of that grain is one user-day rollup row. Rendering a page of them (the usage
groups in the profile's words, charges in dollars, the id, the day's commits and agent
runs) was most of what the page cost, and only a sync changes any of it. So the sync
renders that part of each active user's record (those a page shows unless asked for the
inactive too) when it rebuilds the day's rollups, in the same
transaction (:func:`store`, the ``store_records`` sync hook), into ``usage_day_records``;
rebuilding a day deletes its records first, and writing commits or agent runs marks their
days for rebuilding.

What a request knows better is spliced in when the page is read (:func:`spliced`): the
account's organization and last sync time (an account can be renamed, and every sync moves
its time) and the member behind the email (members change without any day being rebuilt).
``remote_data`` (the vendor's daily row, as received) is stored with the record: writing
daily rows marks their days for rebuilding too. The page reads the stored text with the
rows' keys, in one statement; a row without a current record is read in full and
rendered as before.

A record is current when it has this code's :func:`version`: a hash of the rendering's
own version and the connector's profile, so a release that renders differently, or a
connector that reports other fields, never serves text rendered by another. The first sync
that finds an account's records of another version (or none) renders all of its days.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.models import IntegratedAccount, usage_day_records, usage_user_days
from unimeter.kit.times import iso
from unimeter.sync.store import bulk

from . import code, fact_days, grouping, render, repository
from .query import UsageQuery

# Bump when :func:`render.usage_records` or :func:`code.attach` change what a record shows.
RENDERING = 2

R = usage_day_records.c
U = usage_user_days.c

# Where the organization and user go: before this key. Only the id (base64) and the product
# (escaped strings, which hold no bare quote) come before it, so its first occurrence is the
# record's own key.
_BEFORE_MODEL = ',"model":'
# Where the sync time goes in a record with ``remote_data`` (its last key): before this
# key, whose first occurrence is the record's own (every string ahead of it is escaped).
_BEFORE_REMOTE_DATA = ',"remote_data":'
# What a request splices in; the stored text is the record without them.
_SPLICED = ("organization", "user", "created_at", "updated_at")

_COLUMNS = ("account_id", "day", "user_email", "version", "record")
_ANY_VERSION = select(R.version).where(R.account_id == bindparam("account")).limit(1)
_DAYS = select(U.day).where(U.account_id == bindparam("account")).distinct()


# Versions worked out, by the connector's profile object (kept with its version, so that
# its id is not reused) and what else of the connector a record shows.
_versions: dict[tuple[Any, ...], tuple[object, int]] = {}


def version(vendor: render.Vendor) -> int:
    """The rendering's version for a connector: its products and fact profile count."""
    key = (id(vendor.facts), vendor.products, vendor.commits, vendor.agent_runs,
           vendor.raw_daily)  # fmt: skip
    known = _versions.get(key)
    if known is not None and known[0] is vendor.facts:
        return known[1]
    shape = (RENDERING, vendor.facts, *key[1:])
    found = zlib.crc32(repr(_canonical(shape)).encode()) & 0x7FFFFFFF
    _versions[key] = (vendor.facts, found)
    return found


def _canonical(value: Any) -> Any:
    """``value`` with every set sorted and every dataclass a tuple: a repr that does not
    depend on the process's string hashing."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(
            (f.name, _canonical(getattr(value, f.name))) for f in dataclasses.fields(value)
        )
    if isinstance(value, frozenset | set):
        return tuple(sorted(repr(_canonical(v)) for v in value))
    if isinstance(value, Mapping):
        return tuple(sorted((repr(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, tuple | list):
        return tuple(_canonical(v) for v in value)
    return value


def serves(vendor: render.Vendor) -> bool:
    """Whether records of this vendor's accounts are stored: one product, so a default-grain
    record is one user-day row."""
    return len(vendor.products) == 1


async def store(
    session: AsyncSession,
    account: IntegratedAccount,
    vendor: render.Vendor,
    days: Sequence[dt.date],
) -> int:
    """Render the records of ``days`` (their rollups just rebuilt, their records deleted
    with them) in the caller's transaction; every day's, when the account's stored records
    are of another version or there are none. Returns how many were rendered."""
    if not serves(vendor):
        return 0
    current = version(vendor)
    found = (await session.execute(_ANY_VERSION, {"account": account.id})).scalar()
    if found != current:
        await session.execute(delete(usage_day_records).where(R.account_id == account.id))
        days = list((await session.scalars(_DAYS, {"account": account.id})).all())
    rendered = 0
    for first, last in spans(sorted({render._as_date(day) for day in days}), SPAN_DAYS):
        rendered += await _store_span(session, account, vendor, current, first, last)
    return rendered


# Days rendered by one set of statements: a sync's statements each cost a turn of the
# writer's thread, and five of them a day were most of what rendering a small team cost.
SPAN_DAYS = 7


def spans(days: Sequence[dt.date], most: int) -> list[tuple[dt.date, dt.date]]:
    """Ordered days as ``[first, last]`` runs of consecutive days, at most ``most`` each."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if out and day == out[-1][1] + dt.timedelta(days=1) and (day - out[-1][0]).days < most:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


async def _store_span(
    session: AsyncSession,
    account: IntegratedAccount,
    vendor: render.Vendor,
    current: int,
    first: dt.date,
    last: dt.date,
) -> int:
    """Render the records of active users from ``first`` to ``last``: those a page shows
    unless asked for the inactive too (over half of a team's user-days, in the benchmark's,
    are members without usage; a page that asks for them renders those as it reads them)."""
    q = UsageQuery(
        account_id=account.id, start=first, end=last + dt.timedelta(days=1), dims=("user",),
        granularity="day", **render.query_profile(vendor),
    )  # fmt: skip
    dialect = session.get_bind().dialect.name
    statement = select(fact_days.user_day_usage(dialect, q))
    rows = list((await session.execute(statement, grouping.values(q))).all())
    if not rows:
        return 0
    records = render.usage_records(rows, q, account, {}, vendor)
    keys = [(render._as_date(row.period), row.user_key) for row in rows]
    periods = [(day, day + dt.timedelta(days=1), user) for day, user in keys]
    await code.attach(session, q, periods, records, commits=vendor.commits,
                      runs=vendor.agent_runs)  # fmt: skip
    daily = None
    if render.daily_one_to_one(q, vendor):
        daily = await repository.daily_sources(session, account.id, keys)
    values: list[tuple[Any, ...]] = []
    for key, record in zip(keys, records, strict=True):
        for name in _SPLICED:
            del record[name]
        if daily is not None:
            payload = daily.get(key)
            record["remote_data"] = {
                "daily_usage": None if payload is None else render.passthrough(payload)
            }
        values.append((account.id, *key, current, orjson.dumps(record).decode()))
    # New rows (their day's were deleted with its rollups, under the sync's lease): by the
    # driver, COPY on PostgreSQL, where an INSERT of many rows cost half of rendering them.
    await bulk.insert_rows(session, usage_day_records, _COLUMNS, values)
    return len(values)


def reads(q: UsageQuery, vendor: render.Vendor, *, reshaped: bool) -> bool:
    """Whether a page of ``q`` may read stored records: the default grain of a vendor whose
    records are stored, unless the request reshapes records or wants more of the vendor's
    rows than the day's (``reshaped``)."""
    return serves(vendor) and fact_days.merged(q) and not reshaped


async def spliced(
    session: AsyncSession,
    account: IntegratedAccount,
    q: UsageQuery,
    rows: Sequence[Any],
    vendor: render.Vendor,
) -> list[orjson.Fragment]:
    """The page's records from rows with a stored ``record``, as the response's JSON."""
    organization = orjson.dumps(render.organization(account)).decode()
    synced = orjson.dumps(iso(account.last_synced_at)).decode()
    emails = sorted({row.user_key for row in rows if row.user_key})
    members = await repository.members_by_email(session, account.id, emails)
    times = f',"created_at":{synced},"updated_at":{synced}'
    # The times go last, or before ``remote_data`` where records have it.
    passes_through = render.daily_one_to_one(q, vendor)
    out = []
    for row in rows:
        user = orjson.dumps(render.user_of(row.user_key, members)).decode()
        text = row.record.replace(
            _BEFORE_MODEL, f',"organization":{organization},"user":{user}{_BEFORE_MODEL}', 1
        )
        if passes_through:
            text = text.replace(_BEFORE_REMOTE_DATA, times + _BEFORE_REMOTE_DATA, 1)
        else:
            text = f"{text[:-1]}{times}}}"
        out.append(orjson.Fragment(text))
    return out
