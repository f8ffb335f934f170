"""Dates and times from callers are bounded (kit/times.py): outside, a 400 naming the
parameter, never an OverflowError and a 500, and never a 200 that breaks mid-file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.api import api_world
from unimeter.kit.times import MAX_DAY, MIN_DAY

# (path, query) pairs that reached arithmetic outside what datetime holds.
EXTREMES: list[tuple[str, dict[str, str], str]] = [
    (
        "/unified/usage-metering/usage",
        {"start_date": "9999-12-31", "end_date": "9999-12-31T23:59:59Z"},
        "end_date",
    ),
    ("/unified/usage-metering/usage", {"start_date": "0001-01-01"}, "start_date"),
    ("/unified/usage-metering/users", {"updated_after": "0001-01-01T00:00:00Z"}, "updated_after"),
    (
        "/analytics/consumption",
        {"start_date": "9999-12-01", "end_date": "9999-12-31"},
        "start_date",
    ),
    ("/analytics/chargeback", {"start_date": "9999-12-01", "end_date": "9999-12-31"}, "start_date"),
    ("/analytics/adoption", {"start_date": "0001-01-01", "end_date": "0001-01-02"}, "start_date"),
    ("/analytics/seats", {"as_of": "0001-01-01"}, "as_of"),
    ("/analytics/audit", {"as_of": "9999-12-31"}, "as_of"),
    ("/exports/consumption", {"start_date": "9999-12-01", "end_date": "9999-12-31"}, "start_date"),
    ("/exports/focus", {"start_date": "9999-12-01", "end_date": "9999-12-31"}, "start_date"),
    ("/exports/chargeback", {"end_date": "9999-12-31"}, "end_date"),
]


async def test_extreme_dates_are_a_400_naming_the_parameter(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        for path, query, name in EXTREMES:
            response = await api.get(path, integrated_account_id=account, **query)
            assert response.status_code == 400, (path, query, response.text[:300])
            body = response.json()
            assert body["statusCode"] == 400
            assert name in body["message"], body
            assert MIN_DAY.isoformat() in body["message"], body


@pytest.mark.parametrize("day", [MIN_DAY.isoformat(), MAX_DAY.isoformat()])
async def test_the_bounds_themselves_are_accepted(
    database_url: str, data_dir: Path, day: str
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        account = api.accounts["default"]
        seats = await api.get("/analytics/seats", integrated_account_id=account, as_of=day)
        assert seats.status_code == 200, seats.text
        export = await api.get("/exports/consumption", integrated_account_id=account, end_date=day)
        assert export.status_code == 200, export.text
