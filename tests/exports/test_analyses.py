"""Consumption and chargeback files (CSV and Parquet) against the JSON analytics API and
the simulator's ground truth."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.api import ApiWorld, api_world

START, END = "2020-01-01", "2030-01-01"
METRICS = ("events", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "total_tokens", "charged", "included", "usage_based", "currency")  # fmt: skip


async def walk(api: ApiWorld, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await api.get(path, **params, **({"next_cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        body: dict[str, Any] = page.json()
        rows += body["result"]
        cursor = body.get("next_cursor")
        if cursor is None:
            return rows


def flat(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """A JSON analytics row as the file's typed columns."""
    tokens, cost = row["tokens"], row["cost"]
    return {
        "period_start": dt.date.fromisoformat(row["period_start"]),
        "period_end": dt.date.fromisoformat(row["period_end"]),
        **{k: row[k] for k in keys},
        "events": row["events"],
        **{f"{k}_tokens": tokens[k] for k in ("input", "output", "cache_read", "cache_write")},
        "total_tokens": tokens["total"],
        **{k: Decimal(cost[k]) for k in ("charged", "included", "usage_based")},
        "currency": cost["currency"],
    }


def typed(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row back to typed values."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("period_start", "period_end"):
            out[key] = dt.date.fromisoformat(value)
        elif key in ("charged", "included", "usage_based"):
            out[key] = Decimal(value)
        elif key.endswith(("tokens", "events")) or key == "users":
            out[key] = int(value)
        elif key == "unallocated":
            out[key] = {"true": True, "false": False}[value]
        else:
            out[key] = value or None
    return out


def _total_charged(api: ApiWorld) -> Decimal:
    truth = api.sim.truth(api.sim.keys[0])
    cents = (Decimal(str(e.payload.get("chargedCents", 0))) for e in truth.events())
    return sum(cents, Decimal(0)) / 100


async def test_consumption_and_chargeback_files_equal_the_api(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, sim_options={"users": 12}) as api:
        account = api.accounts["default"]
        scope = {"integrated_account_id": account, "start_date": START, "end_date": END}
        want = await walk(api, "/analytics/consumption", **scope, granularity="day",
                          limit=10000, **{"group_by[]": ["user", "model"]})  # fmt: skip
        parquet = await api.get("/exports/consumption", **scope, format="parquet",
                                granularity="day", **{"group_by[]": ["user", "model"]})  # fmt: skip
        by_model = await walk(api, "/analytics/consumption", **scope, granularity="month",
                              limit=10000, **{"group_by[]": "model"})  # fmt: skip
        by_model_csv = await api.get("/exports/consumption", **scope, granularity="month",
                                     **{"group_by[]": "model"})  # fmt: skip
        teams = await api.get("/analytics/chargeback", **scope, by="team", granularity="month")
        teams_csv = await api.get("/exports/chargeback", **scope, by="team", granularity="month")
        teams_parquet = await api.get("/exports/chargeback", **scope, format="parquet")
        total = _total_charged(api)

    # Consumption: Parquet by user, model and day is the JSON API's every row.
    assert parquet.status_code == 200, parquet.text
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert parquet.headers["content-disposition"].endswith('.parquet"')
    table = pq.read_table(io.BytesIO(parquet.content))
    schema = table.schema
    assert schema.names == ["period_start", "period_end", "integrated_account_id", "user_email",
                            "model", *METRICS]  # fmt: skip
    assert schema.field("period_start").type == pa.date32()
    assert schema.field("input_tokens").type == pa.int64()
    assert schema.field("charged").type == pa.decimal128(38, 8)
    keys = ("integrated_account_id", "user_email", "model")
    assert len(want) > 100
    assert table.to_pylist() == [flat(r, keys) for r in want]
    charged = sum((r["charged"] for r in table.to_pylist()), Decimal(0))
    assert charged == total

    # By model and month, as CSV.
    assert by_model_csv.status_code == 200
    assert by_model_csv.headers["content-type"].startswith("text/csv")
    rows = [typed(r) for r in csv.DictReader(io.StringIO(by_model_csv.text))]
    assert rows == [flat(r, ("model",)) for r in by_model]

    # Chargeback by team: the CSV is the JSON rows, and adds up to the account's total.
    assert teams_csv.status_code == 200, teams_csv.text
    body = teams.json()
    rows = [typed(r) for r in csv.DictReader(io.StringIO(teams_csv.text))]
    assert rows == [
        {**flat(r, ("team", "unallocated", "users")), "team": r["team"]} for r in body["result"]
    ]
    assert sum((r["charged"] for r in rows), Decimal(0)) == total
    assert Decimal(body["totals"]["cost"]["charged"]) == total
    assert any(r["team"] for r in rows), "billing groups name teams"

    # The same as Parquet (the defaults: by team, per month).
    assert teams_parquet.status_code == 200
    table = pq.read_table(io.BytesIO(teams_parquet.content))
    assert table.schema.field("unallocated").type == pa.bool_()
    assert table.schema.field("team").nullable
    assert table.to_pylist() == rows
