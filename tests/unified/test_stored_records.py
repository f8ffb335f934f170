"""A usage page at the default grain of a one-product vendor reads each record's stored part
(``usage_day_records``, rendered by the sync with the day's rollups) and splices in what
the request knows: byte for byte what rendering the record now gives, on both backends.
Renamed members and accounts show at once; records of another rendering are not read and
the next sync renders them again; commits and agent runs written render their days again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update

from tests.analytics.codeworld import code_world
from tests.support.api import ApiWorld, api_world
from unimeter.db.models import IntegratedAccount, Member, usage_day_records, usage_user_days
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.tenancy import repository as tenancy
from unimeter.unified import service, stored

USAGE = "/unified/usage-metering/usage"
WINDOW = {"start_date": "2026-05-12", "end_date": "2026-06-16"}
R = usage_day_records.c


async def _pages(api: ApiWorld, account: str, limit: int, **params: Any) -> list[bytes]:
    """Every page's body, as sent."""
    bodies, cursor = [], None
    while True:
        extra: dict[str, str] = {"next_cursor": cursor} if cursor else {}
        query = {**WINDOW, **params, **extra}
        page = await api.get(USAGE, integrated_account_id=account, limit=limit, **query)
        assert page.status_code == 200, page.text
        bodies.append(page.content)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return bodies


async def _changed(runtime: Runtime, account: str, statement: Any) -> None:
    """Run ``statement`` as a write the cached answers must not outlive."""
    async with runtime.db.session() as session:
        await session.execute(statement)
        await tenancy.bump_data_version(session, account)


async def _stored(runtime: Runtime, account: str) -> tuple[int, int, set[int]]:
    """(active user-day rows, stored records, their versions) of the account: the records
    of active users are stored."""
    async with runtime.db.reader() as session:
        u = usage_user_days.c
        rows = await session.scalar(
            select(func.count()).where(u.account_id == account, u.counted_facts > 0)
        )
        records = await session.scalar(select(func.count()).where(R.account_id == account))
        versions = set((await session.scalars(select(R.version).distinct())).all())
    return int(rows or 0), int(records or 0), versions


def _current(runtime: Runtime, account: IntegratedAccount) -> int:
    return stored.version(service.vendor_of(runtime, account))


async def _sync_nothing_new(runtime: Runtime, account: str) -> None:
    """A sync that writes nothing but what the store lacks (members only)."""
    options = SyncOptions(streams=frozenset({"members"}))
    assert (await sync_account(runtime, account, options)).status == "succeeded"


async def test_pages_splice_the_stored_records(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir) as api:
        runtime, account_id = api.world.runtime, api.accounts["default"]
        async with runtime.db.reader() as session:
            account = await session.get(IntegratedAccount, account_id)
        assert account is not None
        current = _current(runtime, account)
        rows, records, versions = await _stored(runtime, account_id)
        assert rows > 100 and records == rows and versions == {current}

        # The stored text is what the page serves: an edit to it shows.
        first = await api.get(USAGE, integrated_account_id=account_id, limit=50, **WINDOW)
        shown = next(r for r in first.json()["result"] if r["user"] is not None)
        day, email = dt.date.fromisoformat(shown["start_date"][:10]), shown["user"]["email"]
        one = (R.account_id == account_id) & (R.day == day) & (R.user_email == email)
        edited = func.replace(R.record, '"end_date":"', '"end_date":"edited ')
        await _changed(runtime, account_id, update(usage_day_records).where(one).values(
            record=edited))  # fmt: skip
        params = {"start_date": day.isoformat(), "emails[]": email, "limit": 1}
        page = await api.get(USAGE, integrated_account_id=account_id, **params)
        [record] = page.json()["result"]
        assert record["end_date"].startswith("edited "), record["end_date"]
        await _changed(runtime, account_id, delete(usage_day_records).where(one))

        # What a request knows is spliced in: a renamed member or account shows at once.
        await _changed(runtime, account_id, update(Member).where(
            Member.account_id == account_id, Member.email == email).values(name="Renamed"))  # fmt: skip
        await _changed(runtime, account_id, update(IntegratedAccount).where(
            IntegratedAccount.id == account_id).values(name="Renamed Org"))  # fmt: skip
        spliced = {limit: await _pages(api, account_id, limit) for limit in (500, 40)}
        # Inactive users' records are not stored: rendered beside the stored ones.
        inactive = await _pages(api, account_id, 500, include_inactive="true")
        assert len(inactive[0]) > len(spliced[500][0])
        everyone = [r for body in spliced[500] for r in _result(body)]
        assert {r["organization"]["name"] for r in everyone} == {"Renamed Org"}
        assert {
            r["user"]["name"] for r in everyone if r["user"] and r["user"]["email"] == email
        } == {"Renamed"}

        # Rendered now (no stored records), every page is the same bytes.
        await _changed(runtime, account_id, delete(usage_day_records))
        for limit, bodies in spliced.items():
            assert await _pages(api, account_id, limit) == bodies
        assert await _pages(api, account_id, 500, include_inactive="true") == inactive
        # The next sync renders what is missing, even with no day to rebuild.
        await _sync_nothing_new(runtime, account_id)
        assert await _stored(runtime, account_id) == (rows, rows, {current})
        synced = await _pages(api, account_id, 500)

        # Records of another rendering are not read; the next sync renders them all again.
        await _changed(runtime, account_id, update(usage_day_records).values(
            version=current + 1, record=func.replace(R.record, '"usage"', '"stale"')))  # fmt: skip
        assert await _pages(api, account_id, 500) == synced
        await _sync_nothing_new(runtime, account_id)
        assert await _stored(runtime, account_id) == (rows, rows, {current})
        resynced = await _pages(api, account_id, 40)
        await _changed(runtime, account_id, delete(usage_day_records))
        assert await _pages(api, account_id, 40) == resynced


def _result(body: bytes) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = orjson.loads(body)["result"]
    return result


async def test_commits_and_runs_render_their_days_again(database_url: str, data_dir: Path) -> None:
    async with code_world(database_url, data_dir) as x:
        runtime = x.api.world.runtime
        # The commits and runs written marked their days: the next sync rebuilds them and
        # renders their records with the committed and agents groups.
        await _sync_nothing_new(runtime, x.account_id)
        async with runtime.db.reader() as session:
            texts = (await session.scalars(select(R.record))).all()
        assert texts and all('"committed":{' in t and '"agents":{' in t for t in texts)
        assert any('"committed":{"commits":0,' not in t for t in texts), "some day has commits"
        window = {"start_date": "2026-06-01", "end_date": "2026-06-16"}
        with_stored = await _pages(x.api, x.account_id, 50, **window)
        await _changed(runtime, x.account_id, delete(usage_day_records))
        assert await _pages(x.api, x.account_id, 50, **window) == with_stored
        days = {
            dt.date.fromisoformat(r["start_date"][:10]) for b in with_stored for r in _result(b)
        }
        assert len(days) > 1


def test_days_render_in_runs_of_consecutive_days() -> None:
    day = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(30)]
    wanted = [day[0], day[1], day[2], day[5], *day[10:26]]
    assert stored.spans(wanted, 7) == [
        (day[0], day[2]), (day[5], day[5]), (day[10], day[16]), (day[17], day[23]),
        (day[24], day[25]),
    ]  # fmt: skip
    assert stored.spans([], 7) == []
