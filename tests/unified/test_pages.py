"""Pages of weeks and months split by user are found period by period (on SQLite a period's
user or user x model groups summed in one index-ordered scan, else a page's groups first,
then only their sums), and pages of the default grain are read from the user-day
rollups in their key order: walking them in small pages, forward and back, lists exactly
the rows of one big page, in its order, on both backends."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.api import ApiWorld, api_world
from unimeter.unified import grouping
from unimeter.unified.query import UsageQuery

USAGE = "/unified/usage-metering/usage"
# Periods cut at both ends of the range; small pages put cursors inside a period.
GROUPINGS = (
    {"group_by[]": ["user", "model"], "granularity": "month"},
    {"group_by[]": ["user"], "granularity": "month"},
    {"group_by[]": ["user", "model"], "granularity": "week", "include_inactive": "true"},
    {"group_by[]": ["user", "surface"], "granularity": "week"},
    {"group_by[]": ["user"], "granularity": "day"},
)


async def _page(
    api: ApiWorld, params: dict[str, Any], limit: int, cursor: str | None = None
) -> dict[str, Any]:
    extra = {"next_cursor": cursor} if cursor else {}
    response = await api.get(
        USAGE, integrated_account_id=api.accounts["default"], limit=limit, **params, **extra
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    "grouping",
    GROUPINGS,
    ids=["user-model-month", "user-month", "user-model-week-inactive", "week", "user-day"],
)
async def test_small_pages_walk_to_the_one_page_answer(
    database_url: str, data_dir: Path, grouping: dict[str, Any]
) -> None:
    async with api_world(database_url, data_dir) as api:
        params = {"start_date": "2026-05-12", "end_date": "2026-06-16", **grouping}
        first = await _page(api, params, 1000)
        whole = first["result"]
        assert len(whole) > 20 and first["next_cursor"] is None
        pages = [await _page(api, params, 7)]
        while pages[-1]["next_cursor"] is not None:
            pages.append(await _page(api, params, 7, pages[-1]["next_cursor"]))
        assert [r for page in pages for r in page["result"]] == whole
        back, cursor = pages[-1]["result"], pages[-1]["prev_cursor"]
        while cursor is not None:
            page = await _page(api, params, 7, cursor)
            back, cursor = page["result"] + back, page["prev_cursor"]
        assert back == whole


async def test_everyone_over_the_whole_range_is_one_record_or_none(
    database_url: str, data_dir: Path
) -> None:
    """Grouped by no column at all (everyone, the range as one period), the sums are those
    of every user's, in one row; a range without facts has no row, even with inactive
    records asked for."""
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        everyone = UsageQuery(account, dt.date(2026, 5, 12), dt.date(2026, 6, 16), (), "total",
                              include_inactive=True)  # fmt: skip
        by_user = replace(everyone, dims=("user",))
        empty = replace(everyone, start=dt.date(2020, 1, 1), end=dt.date(2020, 2, 1))
        [whole] = await _grouped(api, everyone)
        users = await _grouped(api, by_user)
        assert len(users) > 1
        assert whole.requests == sum(u.requests or 0 for u in users) > 0
        assert whole.input_tokens == sum(u.input_tokens or 0 for u in users)
        assert await _grouped(api, empty) == []


async def _grouped(api: ApiWorld, q: UsageQuery) -> list[Any]:
    async with api.world.runtime.db.reader() as session:
        dialect = session.get_bind().dialect.name
        g = grouping.grouped_usage(dialect, q)
        rows = await session.execute(select(g), grouping.values(q))
        return list(rows.all())
