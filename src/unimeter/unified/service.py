"""The Unified Usage Metering API: parameters in, unified records out.

Stored mode reads rollups and daily usage from the store. Live mode (``mode=live``) fetches
the range from the vendor now, loads it into a throw-away store with the same code, and
answers from there, so both modes share every mapping and aggregation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.keyset import PageSlice, slice_page
from unimeter.db.models import IntegratedAccount
from unimeter.kit.cursors import Position
from unimeter.kit.times import OutOfRangeError, check_day
from unimeter.runtime import Runtime

from . import code, render, repository, stored
from .query import DIMENSIONS, UsageQuery

DEFAULT_DAYS = 30
MAX_STORED_DAYS = 3 * 366
REMOTE_EVENTS_CAP = 500


class UsageParamsError(ValueError):
    """A parameter the caller must fix (answered with 400)."""


@dataclass(frozen=True, slots=True)
class UsageParams:
    start_date: str | None = None
    end_date: str | None = None
    user_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    model_ids: tuple[str, ...] = ()
    surfaces: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ("user",)
    granularity: str = "day"
    include_inactive: bool = False
    include_remote_data: bool = False
    exclude_fields: tuple[str, ...] = ()
    response_format: str = "unified"

    def filters(self) -> dict[str, Any]:
        """What a cursor is bound to (everything that changes which rows exist)."""
        return {
            "start": self.start_date, "end": self.end_date, "users": self.user_ids,
            "emails": self.emails, "models": self.model_ids, "surfaces": self.surfaces,
            "group_by": self.group_by, "granularity": self.granularity,
            "inactive": self.include_inactive,
        }  # fmt: skip


@dataclass(slots=True)
class Listing:
    records: list[Any]
    page: PageSlice[Any]
    extra: dict[str, Any] = field(default_factory=dict)


def parse_bound(text: str, name: str, *, is_end: bool) -> dt.date:
    """``YYYY-MM-DD`` or RFC 3339; an end with a time of day covers that whole day."""
    value = text.strip()
    try:
        if len(value) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise UsageParamsError(f"{name} must be YYYY-MM-DD or RFC 3339, not {text!r}") from exc
    if moment.tzinfo is None:
        raise UsageParamsError(f"{name} needs a time zone (for example Z)")
    _within_bounds(moment, name)  # before the conversion, which could overflow itself
    moment = moment.astimezone(dt.UTC)
    day = moment.date()
    if is_end and moment.time() != dt.time(0):
        day += dt.timedelta(days=1)
    return day


def _within_bounds(day: dt.date, name: str) -> None:
    try:
        check_day(day)
    except OutOfRangeError as exc:
        raise UsageParamsError(f"{name} {exc}") from exc


def date_range(params: UsageParams, today: dt.date, *, max_days: int) -> tuple[dt.date, dt.date]:
    end = (
        parse_bound(params.end_date, "end_date", is_end=True)
        if params.end_date
        else today + dt.timedelta(days=1)
    )
    start = (
        parse_bound(params.start_date, "start_date", is_end=False)
        if params.start_date
        else end - dt.timedelta(days=DEFAULT_DAYS)
    )
    if start >= end:
        raise UsageParamsError("start_date must be before end_date (end_date is exclusive)")
    if (end - start).days > max_days:
        raise UsageParamsError(f"the range may cover at most {max_days} days")
    return start, end


def _dims(params: UsageParams) -> tuple[str, ...]:
    unknown = set(params.group_by) - set(DIMENSIONS)
    if unknown:
        raise UsageParamsError(f"group_by accepts user, model, surface; not {sorted(unknown)}")
    return tuple(d for d in DIMENSIONS if d in params.group_by)


# What the streams that usage records come from provide (see ``StreamSpec.provides``).
USAGE_FEEDS = frozenset({"members", "daily_activity", "usage_events", "usage_facts"})


def usage_streams(runtime: Runtime, account: IntegratedAccount) -> frozenset[str]:
    """The streams a live read of usage syncs: members and whatever feeds the facts."""
    connector = runtime.registry.get(account.integration)
    return frozenset(s.name for s in connector.streams if s.provides in USAGE_FEEDS)


def vendor_of(runtime: Runtime, account: IntegratedAccount) -> render.Vendor:
    connector = runtime.registry.get(account.integration)
    provides = {spec.provides for spec in connector.streams}
    return render.Vendor(
        products=connector.products,
        facts=connector.facts,
        describe_model=connector.describe_model,
        raw_daily="daily_activity" in provides,
        raw_events="usage_events" in provides,
        commits="commits" in provides,
        agent_runs="agent_runs" in provides,
    )


async def build_query(
    session: AsyncSession,
    account: IntegratedAccount,
    params: UsageParams,
    today: dt.date,
    *,
    max_days: int,
    vendor: render.Vendor,
) -> UsageQuery:
    start, end = date_range(params, today, max_days=max_days)
    emails: list[str] | None = None
    if params.user_ids or params.emails:
        emails = [e.strip().lower() for e in params.emails]
        if params.user_ids:
            emails += await repository.emails_of(session, account.id, list(params.user_ids))
    models = await _stored_models(session, account, params.model_ids, vendor)
    return UsageQuery(
        account_id=account.id,
        start=start,
        end=end,
        dims=_dims(params),
        granularity=params.granularity,
        emails=tuple(emails) if emails is not None else None,
        models=models,
        surfaces=params.surfaces or None,
        include_inactive=params.include_inactive,
        **render.query_profile(vendor),
    )


async def _stored_models(
    session: AsyncSession,
    account: IntegratedAccount,
    wanted: tuple[str, ...],
    vendor: render.Vendor,
) -> tuple[str, ...] | None:
    """The stored model ids a ``model_ids`` filter means: each as given, and every stored id
    the vendor describes as it (records show ``claude-sonnet-4-5`` for the stored
    ``claude-sonnet-4-5-20250929``; filtering by what a record shows must find it)."""
    if not wanted:
        return None
    stored = await repository.models_of(session, account.id)
    shown = {m for m in stored if vendor.describe_model(m).id in wanted}
    return tuple(sorted(set(wanted) | shown))


def _row_key(row: Any) -> list[Any]:
    period = row.period if isinstance(row.period, str) else row.period.isoformat()
    key = [period[:10], row.user_key, row.model_key, row.surface_key]
    return key if row.product_key is None else [*key, row.product_key]


async def list_usage(
    runtime: Runtime,
    session: AsyncSession,
    account: IntegratedAccount,
    params: UsageParams,
    position: Position | None,
    limit: int,
    *,
    today: dt.date,
    max_days: int = MAX_STORED_DAYS,
) -> Listing:
    vendor = vendor_of(runtime, account)
    q = await build_query(session, account, params, today, max_days=max_days, vendor=vendor)
    if stored.reads(q, vendor, reshaped=_reshapes(params)):
        q = replace(q, records_version=stored.version(vendor))
    rows = await repository.usage_page(session, q, position, limit)
    page = slice_page(rows, limit, position, lambda row: _row_key(_keyed(row, q)))
    records = await _render(session, account, q, params, list(page.items), vendor)
    return Listing(records=records, page=page)


async def get_usage(
    runtime: Runtime,
    session: AsyncSession,
    account: IntegratedAccount,
    usage_id: str,
    params: UsageParams,
) -> dict[str, Any] | None:
    try:
        key = render.parse_usage_id(usage_id)
    except ValueError:
        return None
    vendor = vendor_of(runtime, account)
    profile = render.query_profile(vendor)
    if (key.product is not None) != profile["by_product"]:
        return None
    dims = key.dims
    q = UsageQuery(
        account_id=account.id, start=key.start, end=key.end, dims=dims,
        granularity=key.granularity, emails=(key.user,) if "user" in dims else None,
        models=(key.model,) if "model" in dims else None,
        surfaces=(key.surface,) if "surface" in dims else None, include_inactive=True,
        products=(key.product,) if key.product is not None else None, **profile,
    )  # fmt: skip
    rows = list(await repository.usage_page(session, q, None, 2))
    if key.granularity != "total":
        rows = [r for r in rows if _row_key(_keyed(r, q))[0] == key.start.isoformat()]
    if len(rows) != 1:
        return None
    [record] = await _render_now(session, account, q, params, rows, vendor)
    return record


@dataclass(frozen=True, slots=True)
class _Key:
    period: Any
    user_key: str
    model_key: str
    surface_key: str
    product_key: str | None


def _keyed(row: Any, q: UsageQuery) -> _Key:
    """A row's natural key (with its product only when rows split by product)."""
    product = row.product_key if q.by_product else None
    return _Key(row.period, row.user_key, row.model_key, row.surface_key, product)


def _reshapes(params: UsageParams) -> bool:
    """Whether records are answered other than as rendered by default."""
    return bool(
        params.include_remote_data or params.exclude_fields or params.response_format != "unified"
    )


async def _render(
    session: AsyncSession,
    account: IntegratedAccount,
    q: UsageQuery,
    params: UsageParams,
    rows: list[Any],
    vendor: render.Vendor,
) -> list[Any]:
    """The page's records: spliced from those stored (rows with a ``record``, see
    :mod:`.stored`), the others rendered now."""
    # Rows summed from the facts (a day of the range waiting for its rollups) have none.
    if q.records_version is None or not rows or not hasattr(rows[0], "record"):
        return await _render_now(session, account, q, params, rows, vendor)
    has = [row.record is not None for row in rows]
    if all(has):
        return list(await stored.spliced(session, account, q, rows, vendor))
    # Rows read for their stored records hold only their keys: the others are read again
    # in full (a user without usage, or a day rendered by another release).
    kept = [row for row, ok in zip(rows, has, strict=True) if ok]
    keys = tuple((render._as_date(row.period), row.user_key) for row in rows if row.record is None)
    full = replace(q, records_version=None, keys=keys)
    rest = list(await repository.usage_page(session, full, None, len(keys)))
    spliced = iter(await stored.spliced(session, account, q, kept, vendor))
    fresh = iter(await _render_now(session, account, q, params, rest, vendor))
    return [next(spliced) if ok else next(fresh) for ok in has]


async def store_records(
    runtime: Runtime, session: AsyncSession, account_id: str, days: list[dt.date]
) -> int:
    """The sync's ``store_records`` hook: render the stored records of ``days``."""
    account = await session.get(IntegratedAccount, account_id)
    if account is None:
        return 0
    return await stored.store(session, account, vendor_of(runtime, account), days)


async def _render_now(
    session: AsyncSession,
    account: IntegratedAccount,
    q: UsageQuery,
    params: UsageParams,
    rows: list[Any],
    vendor: render.Vendor,
) -> list[dict[str, Any]]:
    emails = sorted({r.user_key for r in rows if r.user_key})
    members = await repository.members_by_email(session, account.id, emails)
    records = render.usage_records(rows, q, account, members, vendor)
    periods = [(s, render.period_end(s, q), r.user_key)
               for r in rows for s in [render._as_date(r.period)]]  # fmt: skip
    await code.attach(session, q, periods, records, commits=vendor.commits,
                      runs=vendor.agent_runs)  # fmt: skip
    wants_sources = params.include_remote_data or params.response_format == "raw"
    # The vendor's raw rows behind each record, passed through as they were received.
    maps_one_to_one = render.daily_one_to_one(q, vendor)
    wants_events = wants_sources and vendor.raw_events
    if maps_one_to_one or wants_events:
        await _attach_sources(session, q, rows, records, maps_one_to_one, wants_events)
    if wants_sources and not (vendor.raw_daily or vendor.raw_events):
        await _attach_fact_sources(session, q, rows, records)
    if params.response_format == "raw":
        return [r.get("remote_data") or {} for r in records]
    return [render.drop_fields(r, list(params.exclude_fields)) for r in records]


async def _attach_sources(
    session: AsyncSession,
    q: UsageQuery,
    rows: list[Any],
    records: list[dict[str, Any]],
    one_to_one: bool,
    all_sources: bool,
) -> None:
    if one_to_one:
        pairs = [(render._as_date(r.period), r.user_key) for r in rows]
        daily = await repository.daily_sources(session, q.account_id, pairs)
        for pair, record in zip(pairs, records, strict=True):
            payload = daily.get(pair)
            record["remote_data"] = {
                "daily_usage": None if payload is None else render.passthrough(payload)
            }
    if not all_sources:
        return
    for row, record in zip(rows, records, strict=True):
        start = render._as_date(row.period)
        scoped = UsageQuery(
            account_id=q.account_id, start=start, end=render.period_end(start, q), dims=q.dims,
            granularity=q.granularity, emails=q.emails, models=q.models, surfaces=q.surfaces,
        )  # fmt: skip
        events = await repository.event_sources(
            session,
            scoped,
            scoped.end,
            (row.user_key, row.model_key, row.surface_key),
            REMOTE_EVENTS_CAP + 1,
        )
        sources = dict(record.get("remote_data") or {})
        sources["usage_events"] = events[:REMOTE_EVENTS_CAP]
        sources["usage_events_truncated"] = len(events) > REMOTE_EVENTS_CAP
        record["remote_data"] = sources


async def _attach_fact_sources(
    session: AsyncSession, q: UsageQuery, rows: list[Any], records: list[dict[str, Any]]
) -> None:
    """The vendor rows a connector kept on its facts, as ``remote_data.usage_facts``."""
    for row, record in zip(rows, records, strict=True):
        start = render._as_date(row.period)
        scoped = UsageQuery(
            account_id=q.account_id, start=start, end=render.period_end(start, q), dims=q.dims,
            granularity=q.granularity,
        )  # fmt: skip
        product = row.product_key if q.by_product else None
        key = (row.user_key, row.model_key, row.surface_key, product)
        sources = await repository.fact_sources(
            session, scoped, scoped.end, key, REMOTE_EVENTS_CAP + 1
        )
        record["remote_data"] = {
            "usage_facts": sources[:REMOTE_EVENTS_CAP],
            "usage_facts_truncated": len(sources) > REMOTE_EVENTS_CAP,
        }


# -- users ------------------------------------------------------------------------------------


_STATUS_REMOVED = {"active": False, "deleted": True}


async def list_users(
    session: AsyncSession,
    account: IntegratedAccount,
    *,
    status: str | None,
    email: str | None,
    updated_after: int | None,
    position: Position | None,
    limit: int,
    exclude_fields: tuple[str, ...] = (),
    raw: bool = False,
) -> Listing:
    if status is not None and status not in _STATUS_REMOVED:
        # Cursor has no inactive or invited seats: nothing can match.
        return Listing(records=[], page=PageSlice(items=[], next_key=None, prev_key=None))
    members = await repository.members_page(
        session,
        account.id,
        removed=_STATUS_REMOVED.get(status) if status else None,
        email=email,
        updated_after=updated_after,
        position=position,
        limit=limit,
        # The stored records as they are, unless they are to be reshaped.
        stored=not (raw or exclude_fields),
    )
    page = slice_page(members, limit, position, lambda m: [m.id])
    records = await render_users(session, account, page.items, exclude_fields, raw)
    return Listing(records=records, page=page)


async def render_users(
    session: AsyncSession,
    account: IntegratedAccount,
    members: list[Any],
    exclude_fields: tuple[str, ...],
    raw: bool,
    *,
    every_column: bool = False,
) -> list[Any]:
    """Members' rows as ``members_page`` returns them: stored records, or (to reshape them,
    and whenever ``every_column`` says the rows have them all) every column."""
    if raw:
        return [render.passthrough(m.raw) for m in members]
    if exclude_fields:
        excluded = list(exclude_fields)
        return [render.drop_fields(r, excluded) for r in render.user_dicts(members, account)]
    unrendered = [m for m in members if m.record is None]
    fresh = {m.id: m for m in unrendered}
    if unrendered and not every_column:
        rows = await repository.members_to_render(session, account.id, [m.id for m in unrendered])
        fresh = {row.id: row for row in rows}
    return render.user_records(members, account, fresh)
