"""SQL that writes the usage facts a connector reports: compare, then insert or update.

Any connector may yield :class:`~unimeter.connectors.facts.UsageFactRecord` batches: day
totals (Cursor's daily usage), or detail facts of a vendor without usage events (its per
member, model and day report). Comparing first gives exact inserted/updated/unchanged
counts, so a second read of the same data changes nothing. Facts feed the rollups, so
the days whose facts changed are marked dirty in the same transaction and rebuilt at the
end of the run (:mod:`.rollups_repository`).

A fact the vendor stops reporting is kept (as daily usage rows are): a later read only
inserts and updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.facts import METRICS, UsageFactRecord
from unimeter.db.base import now_ms
from unimeter.db.models import UsageFact
from unimeter.sync.store import rollups_repository
from unimeter.sync.store.counts import Counts, chunks

_Key = tuple[dt.date, str, str, str, str, str, bool]
_VALUES = (*METRICS, "is_active", "client_version", "sources")


async def write_facts(
    session: AsyncSession, account_id: str, records: Sequence[UsageFactRecord]
) -> Counts:
    """Store ``records`` in the caller's transaction; returns what changed."""
    counts = Counts()
    dirty: set[dt.date] = set()
    for chunk in chunks(merge(records)):
        stored = await _stored(session, account_id, chunk)
        now = now_ms()
        new_rows, changed = [], []
        for record in chunk:
            values = _values(record)
            row = stored.get(record.key())
            if row is None:
                new_rows.append({**_key_columns(account_id, record), **values, "updated_at": now})
            elif row[1:] != tuple(values.values()):
                changed.append({"id": row[0], **values, "updated_at": now})
            else:
                counts.unchanged += 1
                continue
            dirty.add(record.day)
        if new_rows:
            await session.execute(insert(UsageFact).execution_options(render_nulls=True), new_rows)
        if changed:
            await session.execute(update(UsageFact), changed)
        counts.inserted += len(new_rows)
        counts.updated += len(changed)
    # Detail facts feed the narrow rollups, and both kinds the fact-day rollups.
    await rollups_repository.mark_dirty(session, account_id, dirty)
    return counts


def merge(records: Sequence[UsageFactRecord]) -> list[UsageFactRecord]:
    """One fact per key: a vendor may list one member twice for a day (under an old and a
    new user id, with one email), and the store keeps one fact per key, so their metrics
    are summed (unknown stays unknown only when every part leaves it unknown)."""
    merged: dict[_Key, UsageFactRecord] = {}
    for record in records:
        first = merged.get(record.key())
        if first is None:
            merged[record.key()] = record
            continue
        metrics = dict(first.metrics)
        for name, value in record.metrics.items():
            metrics[name] = metrics.get(name, 0) + value
        active = [a for a in (first.is_active, record.is_active) if a is not None]
        versions = [v for v in (first.client_version, record.client_version) if v is not None]
        merged[record.key()] = UsageFactRecord(
            day=record.day,
            product=record.product,
            user_email=record.user_email,
            actor=record.actor,
            surface=record.surface,
            model=record.model,
            is_day_total=record.is_day_total,
            metrics=metrics,
            is_active=any(active) if active else None,
            client_version=max(versions) if versions else None,
            sources=[*first.sources, *record.sources],
        )
    return list(merged.values())


async def _stored(
    session: AsyncSession, account_id: str, chunk: Sequence[UsageFactRecord]
) -> dict[_Key, tuple[Any, ...]]:
    f = UsageFact
    key_columns = (f.day, f.product, f.user_email, f.actor, f.surface, f.model, f.is_day_total)
    pairs = list({(r.day, r.user_email) for r in chunk})
    rows = await session.execute(
        select(*key_columns, f.id, *[getattr(f, name) for name in _VALUES]).where(
            f.account_id == account_id,
            f.day >= min(day for day, _ in pairs),
            f.day <= max(day for day, _ in pairs),
            tuple_(f.day, f.user_email).in_(pairs),
        )
    )
    width = len(key_columns)
    return {_key(row[:width]): tuple(row[width:]) for row in rows.all()}


def _key(values: Sequence[Any]) -> _Key:
    day, product, email, actor, surface, model, total = values
    if not isinstance(day, dt.date):
        day = dt.date.fromisoformat(str(day))
    return (day, product, email, actor, surface, model, bool(total))


def _values(record: UsageFactRecord) -> dict[str, Any]:
    unknown = set(record.metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown usage fact metrics: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {name: record.metrics.get(name) for name in METRICS}
    values["is_active"] = record.is_active
    values["client_version"] = record.client_version
    values["sources"] = record.sources or None
    return values


def _key_columns(account_id: str, record: UsageFactRecord) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "day": record.day,
        "user_email": record.user_email,
        "actor": record.actor,
        "product": record.product,
        "surface": record.surface,
        "model": record.model,
        "is_day_total": record.is_day_total,
    }
