"""Analyses read on a thread of their own: on SQLite, their statements run off the event
loop's thread, so one tenant's long analysis never holds every other request of the process
(BENCHMARKS.md, "the cold API, part 6": a users page's p99 went from 543 to 20 ms beside a
stream of analyses)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.support.api import api_world

START = "2020-01-01"


async def test_analysis_statements_run_off_the_event_loop(
    database_url: str, data_dir: Path
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's driver never holds the loop while a statement runs")
    async with api_world(database_url, data_dir) as api:
        db = api.world.runtime.db
        ran_on: list[tuple[int, str]] = []

        def trace(dbapi_connection: Any, _record: Any) -> None:
            raw = dbapi_connection.driver_connection._conn
            raw.set_trace_callback(lambda sql: ran_on.append((threading.get_ident(), sql)))

        # New connections only: the pools were emptied, so every statement below is traced.
        for engine in (db.read_engine, db.scan_engine):
            await engine.dispose()
            event.listen(engine.sync_engine, "connect", trace)
        account = api.accounts["default"]
        for path, params in (
            ("/analytics/consumption", {"start_date": START, "granularity": "month"}),
            ("/analytics/seats", {}),
            ("/analytics/adoption", {}),
            ("/analytics/chargeback", {"start_date": START}),
            ("/analytics/audit", {}),
        ):
            ran_on.clear()
            got = await api.get(path, integrated_account_id=account, **params)
            assert got.status_code == 200, (path, got.text)
            loop_thread = threading.get_ident()
            reads = [sql for _, sql in ran_on if "usage" in sql or "members" in sql]
            assert reads, path
            on_loop = [sql for thread, sql in ran_on if thread == loop_thread and sql in reads]
            assert on_loop == [], (path, on_loop[:2])
