"""Backfill benchmarks: throughput against a ceiling, requests against the minimum, and the
cost of an hourly incremental sync.

    python bench/backfill.py                 # all three parts
    python bench/backfill.py throughput      # one part: throughput | requests | hourly
    python bench/backfill.py --events-only   # quick throughput: 300 members x 29 days
    python bench/backfill.py --events-only --pg postgresql://postgres@127.0.0.1:5432/postgres

1. throughput: a team of 2+ million events, rate limits off, simulator in its own process.
   End-to-end events/s of a whole sync (members and usage events) into SQLite or
   PostgreSQL, next to a real ceiling measured in the same run: the same pages parsed with
   orjson and bulk-inserted bare (executemany of INSERT … ON CONFLICT DO NOTHING), once
   into the same table and once into a bare one. Peak RSS of the sync.
2. requests: real rate limits on a scaled clock; requests made against the minimum possible
   (per stream, the pages needed at the maximum page size, summed over the windows).
3. hourly: a 1,000-member team after one new hour; requests against what the lookback allows.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, peak_rss_mb, serve_in_thread, simulator_process
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.agents import LIST_LIMIT
from unimeter.connectors.cursor.analytics_mapping import BY_USER_METRICS, TEAM_METRICS
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.enterprise import BY_USER_PAGE
from unimeter.connectors.cursor.mapping import E6
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig, create_app
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.registration import default_registry
from unimeter.connectors.windows import DAY_MS, day_floor, plan_windows
from unimeter.db.base import new_id
from unimeter.db.models import IntegratedAccount, SyncState
from unimeter.kit.collector import settle_after_start
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.tenancy.repository import ensure_environment

KEY = "crsr_" + "b" * 64
EVENTS_ONLY = SyncOptions(streams=frozenset({"members", "usage_events"}))
UNLIMITED = "0.0001"  # a rate-limit minute so short the client budget never waits


def _now_hour_ms() -> int:
    return int(time.time() // 3600 * 3600 * 1000)


# -- part 1: throughput ---------------------------------------------------------------------


def throughput(users: int, days: int, scale: float, pg: str | None = None) -> dict[str, Any]:
    """End to end against the real ceiling, on SQLite or (with ``pg``) PostgreSQL."""
    now = _now_hour_ms()
    sim_args = ["--users", str(users), "--days", str(days), "--activity-scale", str(scale),
                "--now", str(now), "--rate-limits", "off", "--api-key", KEY]  # fmt: skip
    with tempfile.TemporaryDirectory() as work, simulator_process(*sim_args) as base_url:
        env = {**os.environ, "UNIMETER_CURSOR_MINUTE_SECONDS": UNLIMITED}
        pages = Path(work, "pages.bin")
        _child(["capture", base_url, str(pages)], env)
        with _database(pg, work, "e2e") as url:
            e2e = _child(["e2e", base_url, work, url], env)
        with _database(pg, work, "ceiling") as url:
            ceiling = _child(["ceiling", str(pages), work, url], env)
    return {"e2e": e2e, "ceiling": ceiling}


@contextmanager
def _database(pg: str | None, work: str, name: str) -> Iterator[str]:
    """A fresh store: a SQLite file, or a PostgreSQL database of its own (dropped after)."""
    if pg is None:
        yield f"sqlite:///{work}/{name}.db"
        return
    database = f"{os.environ.get('BENCH_DB_PREFIX', 'unimeter_bench')}_{name}_{os.getpid()}"
    admin = psycopg.connect(pg.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
        try:
            yield make_url(pg).set(database=database).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def _e2e(base_url: str, work: str, url: str) -> dict[str, Any]:
    settings = Settings(data_dir=Path(work), database_url=url)
    runtime = await open_runtime(settings)
    settle_after_start()  # as `unimeter sync` does once its runtime is open
    try:
        account = await link_account(runtime, LinkRequest("cursor", KEY, base_url=base_url))
        report = await sync_account(runtime, account.id, EVENTS_ONLY)
    finally:
        await runtime.close()
    events = report.streams["usage_events"]
    return {
        "events": events.inserted,
        # The whole run (members, events, attribution, rollups): what a user waits for.
        "seconds": report.seconds,
        "stream_seconds": events.seconds,
        "requests": events.requests,
        "rss_mb": peak_rss_mb(),
    }


async def _capture(base_url: str, path: str) -> dict[str, Any]:
    """The pages the sync reads, in the same windows, as raw bytes (untimed)."""
    async with CursorClient(KEY, base_url=base_url, minute_seconds=float(UNLIMITED)) as client:
        now = int(time.time() * 1000)
        floor = await CursorSource(client).probe_floor(now, 365)
        with open(path, "wb") as out:
            for index, window in enumerate(plan_windows(floor or now, now, 30)):
                page = 1
                while True:
                    body = {"startDate": window.start_ms, "endDate": window.end_ms,
                            "page": page, "pageSize": 1000}  # fmt: skip
                    response = await client.raw_request(
                        "POST", "/teams/filtered-usage-events", content=orjson.dumps(body),
                        headers={"content-type": "application/json"},
                    )  # fmt: skip
                    _write_frame(out, index, response.content)
                    if not orjson.loads(response.content)["pagination"]["hasNextPage"]:
                        break
                    page += 1
    return {}


def _write_frame(out: Any, window: int, payload: bytes) -> None:
    out.write(window.to_bytes(4, "big", signed=True) + len(payload).to_bytes(8, "big") + payload)


def _frames(path: str) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as f:
        while header := f.read(12):
            window = int.from_bytes(header[:4], "big", signed=True)
            size = int.from_bytes(header[4:], "big")
            yield window, f.read(size)


async def _ceiling(path: str, work: str, url: str) -> dict[str, Any]:
    """What the machine can do with the same pages: orjson, a tuple per event (its identity
    hash included: an upsert needs a key), and one executemany of ``INSERT … ON CONFLICT DO
    NOTHING`` per page with the DB-API driver, committed per page like the sync. Twice:
    into ``usage_events`` itself (every index the reads need), then into a bare table of the
    same columns with only the unique key."""
    settings = Settings(data_dir=Path(work), database_url=url)
    runtime = await open_runtime(settings, registry=default_registry(CursorConnector()))
    account_id = new_id("acc")
    try:
        async with runtime.db.session() as session:
            env = await ensure_environment(session, "default")
            session.add(IntegratedAccount(id=account_id, environment_id=env.id, integration="cursor",
                                          base_url="-", credentials="-", settings={}))  # fmt: skip
    finally:
        await runtime.close()
    sqlite = url.startswith("sqlite")
    connection = _dbapi_connect(url, work)
    try:
        connection.execute(_BARE_TABLE.format(id=_id_column(sqlite)))
        connection.commit()
        result: dict[str, Any] = {}
        for table in ("usage_events", "bare_events"):
            started = time.perf_counter()
            inserted = _bare_load(connection, table, path, account_id, sqlite)
            result[table] = {"events": inserted, "seconds": time.perf_counter() - started}
    finally:
        connection.close()
    result["rss_mb"] = peak_rss_mb()
    return result


_COLUMNS = (
    "account_id", "fingerprint", "timestamp_ms", "day", "email_received", "email", "member_id",
    "attribution", "after_removal", "product", "model", "kind", "charge_type", "surface",
    "max_mode", "is_token_based", "is_chargeable", "is_headless", "input_tokens",
    "output_tokens", "cache_write_tokens", "cache_read_tokens", "token_cents_e6",
    "token_fee_cents_e6", "charged_cents_e6", "request_units_e6", "conversation_id",
    "cloud_agent_id", "service_account_id", "automation_id", "revisions", "first_seen_at",
    "updated_at", "raw",
)  # fmt: skip
_BARE_TABLE = (
    "CREATE TABLE bare_events (id {id}, account_id VARCHAR(40) NOT NULL, "
    "fingerprint VARCHAR(40) NOT NULL, timestamp_ms BIGINT NOT NULL, day DATE NOT NULL, "
    "email_received VARCHAR(320) NOT NULL, email VARCHAR(320), member_id BIGINT, "
    "attribution VARCHAR(20) NOT NULL, after_removal BOOLEAN NOT NULL, "
    "product VARCHAR(40) NOT NULL, model VARCHAR(120) NOT NULL, kind VARCHAR(80) NOT NULL, "
    "charge_type VARCHAR(20) NOT NULL, surface VARCHAR(40) NOT NULL, max_mode BOOLEAN NOT NULL, "
    "is_token_based BOOLEAN NOT NULL, is_chargeable BOOLEAN NOT NULL, "
    "is_headless BOOLEAN NOT NULL, input_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, "
    "cache_write_tokens BIGINT NOT NULL, cache_read_tokens BIGINT NOT NULL, "
    "token_cents_e6 BIGINT, token_fee_cents_e6 BIGINT, charged_cents_e6 BIGINT NOT NULL, "
    "request_units_e6 BIGINT NOT NULL, conversation_id VARCHAR(80), cloud_agent_id VARCHAR(80), "
    "service_account_id VARCHAR(80), automation_id VARCHAR(80), revisions INTEGER NOT NULL, "
    "first_seen_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, raw JSON NOT NULL, "
    "UNIQUE (account_id, fingerprint))"
)


def _id_column(sqlite: bool) -> str:
    return "INTEGER PRIMARY KEY" if sqlite else "BIGSERIAL PRIMARY KEY"


def _dbapi_connect(url: str, work: str) -> Any:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(url).database or f"{work}/ceiling.db")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection
    return psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))


def _bare_load(connection: Any, table: str, path: str, account_id: str, sqlite: bool) -> int:
    mark = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})"
        " ON CONFLICT (account_id, fingerprint) DO NOTHING"
    )
    inserted, now = 0, int(time.time() * 1000)
    cursor = connection.cursor()
    for _, payload in _frames(path):
        rows = [_bare_row(account_id, e, now, sqlite) for e in orjson.loads(payload)["usageEvents"]]
        cursor.executemany(sql, rows)
        connection.commit()
        inserted += len(rows)
    return inserted


def _bare_row(account_id: str, e: dict[str, Any], now: int, sqlite: bool) -> tuple[Any, ...]:
    usage = e.get("tokenUsage") or {}
    ts = int(e["timestamp"])
    tokens = (usage.get("inputTokens", 0), usage.get("outputTokens", 0),
              usage.get("cacheWriteTokens", 0), usage.get("cacheReadTokens", 0))  # fmt: skip
    ids = (e.get("conversationId"), e.get("cloudAgentId"), e.get("serviceAccountId"),
           e.get("automationId"))  # fmt: skip
    key = f"{ts}\x1f{e.get('model')}\x1f{tokens}\x1f{ids}".encode()
    day = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC).date()
    email = e.get("userEmail") or ""
    return (
        account_id, hashlib.blake2b(key, digest_size=16).hexdigest(), ts,
        day.isoformat() if sqlite else day, email, email or None, None, "direct", False,
        "cursor", e.get("model") or "", e.get("kind") or "", "included", "ide",
        bool(e.get("maxMode")), bool(e.get("isTokenBasedCall")), bool(e.get("isChargeable")),
        bool(e.get("isHeadless")), *tokens, round(usage.get("totalCents", 0) * E6),
        None if e.get("cursorTokenFee") is None else round(e["cursorTokenFee"] * E6),
        round((e.get("chargedCents") or 0) * E6), round(e.get("requestsCosts", 0) * E6), *ids,
        0, now, now, orjson.dumps(e).decode(),
    )  # fmt: skip


# -- parts 2 and 3: requests ----------------------------------------------------------------


async def _sync_in_process(
    sim: SimulatedCursor, minute: float, work: str, rounds: int
) -> tuple[list[Any], int]:
    """Sync ``rounds`` times, an hour apart; returns (report, now) per round and the floor."""
    reports = []
    with serve_in_thread(create_app(sim)) as base_url:
        settings = Settings(data_dir=Path(work), database_url=f"sqlite:///{work}/unimeter.db")
        connector = CursorConnector(minute_seconds=minute)
        runtime = await open_runtime(
            settings, registry=default_registry(connector), clock=sim.clock.now_ms
        )
        try:
            account = await link_account(
                runtime, LinkRequest("cursor", sim.keys[0], base_url=base_url)
            )
            for step in range(rounds):
                if step:
                    sim.clock.advance(hours=1)
                now = sim.clock.now_ms()
                reports.append((await sync_account(runtime, account.id), now))
            async with runtime.db.reader() as session:
                state = await session.get(SyncState, (account.id, "usage_events"))
                floor = state.floor_ms if state and state.floor_ms else 0
        finally:
            await runtime.close()
    return reports, floor


def minimum_requests(sim: SimulatedCursor, start_ms: dict[str, int], now: int) -> dict[str, int]:
    """Pages each stream needs at the maximum page size over the windows it must read."""
    truth, team = sim.truth(), sim.team(sim.keys[0])
    need = {"members": 1, "spend": max(1, math.ceil(len(truth.spend()["teamMemberSpend"]) / 1000))}
    for stream, page_size in (("usage_events", 1000), ("daily_usage", 1000), ("audit_logs", 500)):
        need[stream] = 0
        for w in plan_windows(start_ms[stream], now, 30):
            if stream == "usage_events":
                items = len(truth.events(w.start_ms, w.end_ms, retention=True))
            elif stream == "daily_usage":
                items = len(
                    {r["email"] for r in truth.daily_usage(w.start_ms, w.end_ms, retention=True)}
                )
            else:
                # The audit log, like every endpoint, only serves what is within retention.
                items = len(truth.audit_events(max(w.start_ms, truth.retention_start_ms), w.end_ms))
            need[stream] += max(1, math.ceil(items / page_size))
    cycles = set()
    day = day_floor(start_ms["billing_groups"])
    while day <= now:
        cycles.add(team.cycle_bounds(day)[0])
        day += DAY_MS
    need["billing_groups"] = len(cycles)
    return need


def requests_part(users: int, days: int) -> dict[str, Any]:
    sim = SimulatedCursor(SimulatorConfig(seed=3, users=users, days=days, now_ms=_now_hour_ms(),
                                          rate_limits="real", minute_seconds=0.2))  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        [(report, now)], floor = asyncio.run(_sync_in_process(sim, 0.2, work, rounds=1))
    # Every stream starts where the probe found the oldest data.
    need = minimum_requests(sim, dict.fromkeys(_STREAMS, floor), now)
    return _compare(report, need)


_STREAMS = ("usage_events", "daily_usage", "audit_logs", "billing_groups")


def enterprise_minimum(
    sim: SimulatedCursor, start_ms: int, now: int, last_run: int
) -> dict[str, int]:
    """Requests the Enterprise streams need over ``[start, now]`` (one window each, as an
    incremental run reads): pages of the largest size, every Analytics metric once, the
    agent listing and each agent that changed since the last run (its runs and their
    usage). A 304 is a request too (it costs no rate limit at Cursor: reported apart)."""
    truth = sim.truth()
    need: dict[str, int] = {}
    for w in plan_windows(start_ms, now, 30):
        commits = len(truth.commits(w.start_ms, w.end_ms))
        changes = len(truth.changes(w.start_ms, w.end_ms))
        need["ai_code_commits"] = need.get("ai_code_commits", 0) + max(1, math.ceil(commits / 1000))
        need["ai_code_changes"] = need.get("ai_code_changes", 0) + max(1, math.ceil(changes / 1000))
        need["team_analytics"] = need.get("team_analytics", 0) + len(TEAM_METRICS)
        pages = max(1, math.ceil(len(truth.members()) / BY_USER_PAGE))
        need["user_analytics"] = need.get("user_analytics", 0) + len(BY_USER_METRICS) * pages
        need["conversation_insights"] = need.get("conversation_insights", 0) + 1
    agents = truth.agents()
    moved = [
        a for a in agents
        if max(_iso_ms(a["createdAt"]), _iso_ms(a["updatedAt"])) > last_run
    ]  # fmt: skip
    need["agent_runs"] = max(1, math.ceil(len(agents) / LIST_LIMIT)) + 2 * len(moved)
    return need


def _iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def hourly_part(users: int, days: int) -> dict[str, Any]:
    sim = SimulatedCursor(SimulatorConfig(seed=5, users=users, days=days, now_ms=_now_hour_ms(),
                                          rate_limits="off"))  # fmt: skip
    with tempfile.TemporaryDirectory() as work:
        reports, _ = asyncio.run(_sync_in_process(sim, float(UNLIMITED), work, rounds=2))
    (_, first_now), (report, now) = reports
    lookbacks = {"usage_events": 1, "daily_usage": 2, "audit_logs": 1, "billing_groups": 2}
    start = {s: day_floor(first_now) - days_back * DAY_MS for s, days_back in lookbacks.items()}
    need = minimum_requests(sim, start, now)
    # The Enterprise streams re-read two days, like daily usage.
    need.update(enterprise_minimum(sim, day_floor(first_now) - 2 * DAY_MS, now, first_now))
    return _compare(report, need)


def _compare(report: Any, need: dict[str, int]) -> dict[str, Any]:
    made = {name: s.requests for name, s in report.streams.items()}
    return {
        "made": made,
        "not_modified": {name: s.not_modified for name, s in report.streams.items()},
        "minimum": need,
        "total_made": sum(made.values()),
        "total_minimum": sum(need.values()),
        "rate_limited": sum(s.rate_limited for s in report.streams.values()),
    }


# -- report ---------------------------------------------------------------------------------

_PARTS = ("throughput", "requests", "hourly")


def _print_throughput(t: dict[str, Any], backend: str) -> None:
    e2e, ceiling = t["e2e"], t["ceiling"]
    rate = e2e["events"] / e2e["seconds"]
    print(f"[throughput] {backend}, load average {os.getloadavg()[0]:.2f}: "
          f"{e2e['events']:,} events in {e2e['requests']:,} requests")  # fmt: skip
    print(f"  end to end (whole run): {rate:,.0f} events/s ({e2e['seconds']:.1f} s; events "
          f"stream alone {e2e['stream_seconds']:.1f} s), peak RSS {e2e['rss_mb']:.0f} MB")  # fmt: skip
    for table, label in (("usage_events", "same table, every index"),
                         ("bare_events", "bare table, unique key only")):  # fmt: skip
        c = ceiling[table]
        ceiling_rate = c["events"] / c["seconds"]
        print(f"  ceiling ({label}): {ceiling_rate:,.0f} events/s ({c['seconds']:.1f} s); "
              f"end to end / ceiling = {rate / ceiling_rate:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", help="throughput | requests | hourly (default: all)")
    parser.add_argument("--events-only", action="store_true",
                        help="quick throughput only: 300 members x 29 days (about a minute)")  # fmt: skip
    parser.add_argument("--pg", help="throughput into PostgreSQL: an admin URL (databases "
                        "of its own are created and dropped; prefix from BENCH_DB_PREFIX)")  # fmt: skip
    opts = parser.parse_args()
    parts = ["throughput"] if opts.events_only else opts.parts or list(_PARTS)
    if set(parts) - set(_PARTS):
        parser.error(f"unknown part: {', '.join(sorted(set(parts) - set(_PARTS)))}")
    print(f"machine: {machine()}")
    if "throughput" in parts:
        if opts.events_only:
            t = throughput(users=300, days=29, scale=1.0, pg=opts.pg)
        else:
            users = int(os.environ.get("BENCH_USERS", 1000))
            t = throughput(users=users, days=90, scale=2.0, pg=opts.pg)
        _print_throughput(t, "PostgreSQL" if opts.pg else "SQLite")
    for name, run, args in (
        ("requests", requests_part, (300, 90)),
        # Only the last days matter to an hourly run (its lookback): a short history keeps
        # the backfill before it quick now that it reads every AI change and agent run.
        (
            "hourly",
            hourly_part,
            (
                int(os.environ.get("BENCH_HOURLY_USERS", 1000)),
                int(os.environ.get("BENCH_HOURLY_DAYS", 5)),
            ),
        ),
    ):  # fmt: skip
        if name not in parts:
            continue
        r = run(*args)
        print(f"[{name}] requests made {r['total_made']} vs minimum {r['total_minimum']} "
              f"= {r['total_made'] / r['total_minimum']:.3f}x; 429s received: {r['rate_limited']}")  # fmt: skip
        for stream, made in r["made"].items():
            same = r["not_modified"].get(stream, 0)
            print(f"  {stream:<22} made {made:>5}  minimum {r['minimum'].get(stream, 0):>5}"
                  + (f"  (304: {same})" if same else ""))  # fmt: skip


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or [""]
    children: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
        "e2e": _e2e,
        "capture": _capture,
        "ceiling": _ceiling,
    }
    if command in children:
        print(json.dumps(asyncio.run(children[command](*rest))))
    else:
        main()
