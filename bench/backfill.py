"""Backfill benchmarks: throughput against a ceiling, requests against the minimum, and the
cost of an hourly incremental sync.

    python bench/backfill.py                 # all three parts
    python bench/backfill.py throughput      # one part: throughput | requests | hourly

1. throughput: a team of 2+ million events, rate limits off, simulator in its own process.
   End-to-end events/s into SQLite, next to a ceiling measured in the same run: the same
   pages, parsed, mapped and upserted by the same code, without HTTP. Peak RSS of the sync.
2. requests: real rate limits on a scaled clock; requests made against the minimum possible
   (per stream, the pages needed at the maximum page size, summed over the windows).
3. hourly: a 1,000-member team after one new hour; requests against what the lookback allows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, peak_rss_mb, serve_in_thread, simulator_process
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor import mapping
from unimeter.connectors.cursor.agents import LIST_LIMIT
from unimeter.connectors.cursor.analytics_mapping import BY_USER_METRICS, TEAM_METRICS
from unimeter.connectors.cursor.client import CursorClient
from unimeter.connectors.cursor.connector import CursorConnector
from unimeter.connectors.cursor.enterprise import BY_USER_PAGE
from unimeter.connectors.cursor.models import MembersResponse, UsageEventsResponse
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig, create_app
from unimeter.connectors.cursor.source import CursorSource
from unimeter.connectors.registration import default_registry
from unimeter.connectors.windows import DAY_MS, day_floor, plan_windows
from unimeter.db.base import new_id
from unimeter.db.models import IntegratedAccount, SyncState
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.sync.store import members_repository, usage_repository
from unimeter.tenancy.repository import ensure_environment

KEY = "crsr_" + "b" * 64
EVENTS_ONLY = SyncOptions(streams=frozenset({"members", "usage_events"}))
UNLIMITED = "0.0001"  # a rate-limit minute so short the client budget never waits


def _now_hour_ms() -> int:
    return int(time.time() // 3600 * 3600 * 1000)


# -- part 1: throughput ---------------------------------------------------------------------


def throughput(users: int, days: int, scale: float) -> dict[str, Any]:
    now = _now_hour_ms()
    sim_args = ["--users", str(users), "--days", str(days), "--activity-scale", str(scale),
                "--now", str(now), "--rate-limits", "off", "--api-key", KEY]  # fmt: skip
    with tempfile.TemporaryDirectory() as work, simulator_process(*sim_args) as base_url:
        env = {**os.environ, "UNIMETER_CURSOR_MINUTE_SECONDS": UNLIMITED}
        e2e = _child(["e2e", base_url, str(Path(work, "e2e"))], env)
        pages = Path(work, "pages.bin")
        _child(["capture", base_url, str(pages)], env)
        ceiling = _child(["ceiling", str(pages), str(Path(work, "ceiling"))], env)
    return {"e2e": e2e, "ceiling": ceiling}


def _child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def _e2e(base_url: str, work: str) -> dict[str, Any]:
    settings = Settings(data_dir=Path(work), database_url=f"sqlite:///{work}/unimeter.db")
    runtime = await open_runtime(settings)
    try:
        account = await link_account(runtime, LinkRequest("cursor", KEY, base_url=base_url))
        report = await sync_account(runtime, account.id, EVENTS_ONLY)
    finally:
        await runtime.close()
    events = report.streams["usage_events"]
    return {
        "events": events.inserted,
        "seconds": events.seconds,
        "requests": events.requests,
        "rss_mb": peak_rss_mb(),
    }


async def _capture(base_url: str, path: str) -> dict[str, Any]:
    """The pages the sync reads, in the same windows, as raw bytes (untimed)."""
    async with CursorClient(KEY, base_url=base_url, minute_seconds=float(UNLIMITED)) as client:
        now = int(time.time() * 1000)
        floor = await CursorSource(client).probe_floor(now, 365)
        members = await client.raw_request("GET", "/teams/members")
        with open(path, "wb") as out:
            _write_frame(out, -1, members.content)
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


def _frames(path: str) -> Any:
    with open(path, "rb") as f:
        while header := f.read(12):
            window = int.from_bytes(header[:4], "big", signed=True)
            size = int.from_bytes(header[4:], "big")
            yield window, f.read(size)


async def _ceiling(path: str, work: str) -> dict[str, Any]:
    """Parse, map and upsert the captured pages with the sync's own code; no HTTP."""
    settings = Settings(data_dir=Path(work), database_url=f"sqlite:///{work}/unimeter.db")
    runtime = await open_runtime(settings, registry=default_registry(CursorConnector()))
    try:
        account_id = new_id("acc")
        async with runtime.db.session() as session:
            env = await ensure_environment(session, "default")
            session.add(IntegratedAccount(id=account_id, environment_id=env.id, integration="cursor",
                                          base_url="-", credentials="-", settings={}))  # fmt: skip
        frames = _frames(path)
        _, members_page = next(frames)
        records = [
            mapping.member_record(m)
            for m in MembersResponse.model_validate(orjson.loads(members_page)).team_members
        ]
        async with runtime.db.session() as session:
            await members_repository.upsert_members(session, account_id, records)
            member_ids = await members_repository.member_ids_by_email(session, account_id)
        started, inserted, current = time.perf_counter(), 0, None
        identities = mapping.EventIdentities()
        for window, payload in frames:
            if window != current:
                identities, current = mapping.EventIdentities(), window
            page = UsageEventsResponse.model_validate(orjson.loads(payload))
            events = mapping.usage_event_records(page.usage_events, identities)
            async with runtime.db.session() as session:
                counts = await usage_repository.upsert_usage_events(
                    session, account_id, events, member_ids
                )
            inserted += counts.inserted
        seconds = time.perf_counter() - started
    finally:
        await runtime.close()
    return {"events": inserted, "seconds": seconds, "rss_mb": peak_rss_mb()}


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


def main() -> None:
    parts = sys.argv[1:] or ["throughput", "requests", "hourly"]
    print(f"machine: {machine()}")
    if "throughput" in parts:
        t = throughput(users=int(os.environ.get("BENCH_USERS", 1000)), days=90, scale=2.0)
        e2e, ceil = t["e2e"], t["ceiling"]
        rate, ceiling_rate = e2e["events"] / e2e["seconds"], ceil["events"] / ceil["seconds"]
        print(f"[throughput] events synced: {e2e['events']:,} in {e2e['requests']:,} requests")
        print(
            f"  end-to-end: {rate:,.0f} events/s ({e2e['seconds']:.1f} s), peak RSS {e2e['rss_mb']:.0f} MB"
        )
        print(
            f"  ceiling (same pages, no HTTP): {ceiling_rate:,.0f} events/s ({ceil['seconds']:.1f} s)"
        )
        print(
            f"  end-to-end / ceiling = {rate / ceiling_rate:.2f}   target >= 0.5; RSS target <= 300 MB"
        )
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
    ):
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
    children = {"e2e": _e2e, "capture": _capture, "ceiling": _ceiling}
    if command in children:
        print(json.dumps(asyncio.run(children[command](*rest))))
    else:
        main()
