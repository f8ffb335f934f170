"""Fleet benchmark: many linked teams on hourly schedules, synced by 1, 2 and 4 workers.

    python bench/fleet.py [--teams 500] [--workers 1,2,4] [--minute-seconds 10]
                          [--hours 1] [--days 1] [--concurrency 8]

Time is compressed: one scheduling minute, and one rate-limit minute of the simulators and
of our client budget, last ``--minute-seconds`` (so an hourly schedule comes round every
60 times that). Everything else runs for real: PostgreSQL (a database of its own, dropped
after), ``unimeter worker`` processes on the procrastinate queue, and three ``unimeter
simulator`` processes over HTTP, one per team size:

    small   8 members, Cursor's Team plan                60 % of the teams
    medium  40 members, Team plan                        30 %
    large   150 members, Enterprise (AI code, analytics,  10 %
            agents: 2 days of Enterprise data, 1 of agents)

Phases: link every team (each link checks its key with the simulator); a warm-up in which
4 workers run every team's backfill; then, per worker count, ``--hours`` scheduling hours
of steady hourly syncs. Per phase it reads from the runs table and PostgreSQL:

- syncs completed per minute (wall clock) per worker;
- lag between a run's scheduled slot and its start, p50 and p99;
- connections held on the database (sampled each second), mean and max;
- requests per scheduled run against the minimum an hourly run of that team needs
  (computed from a replica of the team's simulator with its key: the data is
  deterministic, and differs from team to team);
- teams that starve: fewer runs than the slots that came round for them;
- CPU seconds of the workers per completed sync.

It ends with the cost per account-month (CPU seconds, requests, store bytes) that
docs/scaling.md extrapolates from.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, simulator_process, unimeter_exe
from backfill import enterprise_minimum, minimum_requests
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig
from unimeter.connectors.windows import DAY_MS, day_floor
from unimeter.db.models import IntegratedAccount, SyncRun
from unimeter.runtime import Runtime

ADMIN_URL = os.environ.get("UNIMETER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SEED = 11


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    share: float
    plan: str


SIZES = (
    Size("small", 8, 0.6, "team"),
    Size("medium", 40, 0.3, "team"),
    Size("large", 150, 0.1, "enterprise"),
)
# An hourly run re-reads this many days per stream (the sources' lookbacks).
LOOKBACK_DAYS = {"usage_events": 1, "daily_usage": 2, "audit_logs": 1, "billing_groups": 2}


def team_keys(size: Size, count: int) -> list[str]:
    return [
        "crsr_" + hashlib.sha256(f"fleet:{size.name}:{n}".encode()).hexdigest()
        for n in range(count)
    ]


def split(teams: int) -> dict[str, list[str]]:
    counts = [round(teams * s.share) for s in SIZES]
    counts[0] += teams - sum(counts)
    return {s.name: team_keys(s, n) for s, n in zip(SIZES, counts, strict=True)}


def sim_args(size: Size, keys: list[str], now_ms: int, minute: float, days: int) -> list[str]:
    args = ["--seed", str(SEED), "--users", str(size.users), "--days", str(days),
            "--now", _iso(now_ms), "--plan", size.plan, "--rate-limits", "real",
            "--minute-seconds", str(minute), "--enterprise-days", "2", "--agent-days", "1"]  # fmt: skip
    for key in keys:
        args += ["--api-key", key]
    return args


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


# -- processes ------------------------------------------------------------------------------


@contextmanager
def database() -> Iterator[str]:
    name = f"unimeter_fleet_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def worker_env(url: str, data_dir: Path, minute: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIMETER_")}
    env.update(
        UNIMETER_DATABASE_URL=url,
        UNIMETER_DATA_DIR=str(data_dir),
        UNIMETER_ALLOW_PRIVATE_URLS="1",
        UNIMETER_CURSOR_MINUTE_SECONDS=str(minute),
        UNIMETER_ANTHROPIC_MINUTE_SECONDS=str(minute),
        UNIMETER_SCHEDULE_MINUTE_SECONDS=str(minute),
        UNIMETER_SCHEDULER_TICK_SECONDS="1",
        UNIMETER_WEBHOOK_DISPATCHER="0",
        # Sized to the concurrency (8 syncs a worker, each writing through one connection
        # at a time): the defaults (10 + 10 + 4 a worker) put 4 workers past PostgreSQL's
        # default 100 connections (measured: "too many clients already"), and 4 + 4 let
        # a backfill wait past the pool's 30-second timeout.
        UNIMETER_DATABASE_POOL_SIZE="8",
        UNIMETER_DATABASE_MAX_OVERFLOW="4",
        UNIMETER_QUEUE_POOL_SIZE="2",
    )
    return env


@contextmanager
def workers(count: int, env: dict[str, str], concurrency: int, logs: Path) -> Iterator[list[int]]:
    procs = []
    for n in range(count):
        out = (logs / f"worker-{count}-{n}.log").open("wb")
        procs.append(subprocess.Popen(
            [unimeter_exe(), "worker", "--concurrency", str(concurrency), "--name", f"w{n}"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        ))  # fmt: skip
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(120)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(url: str) -> int:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def largest_tables(url: str, top: int = 8) -> list[tuple[str, int]]:
    """Tables by total size (indexes and TOAST included), largest first."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
            "ORDER BY 2 DESC LIMIT %s",
            (top,),
        ).fetchall()
    return [(str(name), int(size)) for name, size in rows]


def database_bytes(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


# -- phases ---------------------------------------------------------------------------------


async def link_all(
    settings: Settings, bases: dict[str, str], keys: dict[str, list[str]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Link every team (one tenant each); returns account id -> size, and -> its key."""
    runtime = await open_runtime(settings)
    sizes: dict[str, str] = {}
    team_key: dict[str, str] = {}
    try:
        for size, size_keys in keys.items():
            for n, key in enumerate(size_keys):
                request = LinkRequest("cursor", key, base_url=bases[size],
                                      tenant_id=f"{size}-{n}", name=f"{size} team {n}")  # fmt: skip
                account = await link_account(runtime, request)
                sizes[account.id], team_key[account.id] = size, key
    finally:
        await runtime.close()
    return sizes, team_key


async def read_runs(runtime: Runtime) -> list[SyncRun]:
    async with runtime.db.reader() as session:
        return list((await session.scalars(select(SyncRun))).all())


async def backfilled(runtime: Runtime) -> int:
    runs = await read_runs(runtime)
    return len({r.account_id for r in runs if r.status == "succeeded"})


async def slots_due(runtime: Runtime, start_ms: int, end_ms: int, period: int) -> dict[str, int]:
    from unimeter.sync.scheduling import cadence

    async with runtime.db.reader() as session:
        ids = (await session.scalars(select(IntegratedAccount.id))).all()
    due = {}
    for account_id in ids:
        slot, n = cadence.next_slot(account_id, period, start_ms - 1), 0
        while slot < end_ms:
            n, slot = n + 1, slot + period
        due[account_id] = n
    return due


def _in_window(runs: list[SyncRun], start: int, end: int) -> list[SyncRun]:
    """Scheduled runs whose slot fell in ``[start, end)``."""
    return [
        r for r in runs
        if r.trigger == "schedule" and r.scheduled_for is not None
        and start <= r.scheduled_for < end
    ]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def steady_phase(
    count: int, args: argparse.Namespace, runtime: Runtime, env: dict[str, str],
    url: str, logs: Path, sizes: dict[str, str],
) -> dict[str, Any]:  # fmt: skip
    period = int(60 * args.minute_seconds * 1000)  # an hour of scheduling minutes
    seconds = args.hours * period / 1000
    samples: list[int] = []
    with workers(count, env, args.concurrency, logs) as pids:
        cpu0 = {pid: cpu_seconds(pid) for pid in pids}
        start = int(time.time() * 1000)
        while time.time() * 1000 < start + seconds * 1000:
            samples.append(connections(url))
            await asyncio.sleep(1)
        end = int(time.time() * 1000)
        # Let the runs of the window's slots start and finish (up to another hour): a slot
        # still without a run by then is a team starving. A slot due in the window's last
        # seconds has no run until the scheduler's next tick claims it, so finished runs
        # alone do not say the window is done.
        due = await slots_due(runtime, start, end, period)
        while time.time() * 1000 < end + period:
            window = _in_window(await read_runs(runtime), start, end)
            claimed = Counter(r.account_id for r in window)
            if all(claimed[a] >= n for a, n in due.items()) and all(
                r.status in ("succeeded", "failed") for r in window
            ):
                break
            await asyncio.sleep(1)
        cpu = sum(cpu_seconds(pid) - cpu0[pid] for pid in pids)
        drained = int(time.time() * 1000)
    everything = await read_runs(runtime)
    runs = _in_window(everything, start, end)
    started = [r for r in runs if r.started_at is not None]
    done = [r for r in runs if r.status == "succeeded"]
    # Throughput over the measured span, counting every run that finished in it.
    finished = [r for r in everything if r.finished_at and start <= r.finished_at <= drained]
    lags = [(r.started_at - r.scheduled_for) / 1000 for r in started]  # type: ignore[operator]
    ran = Counter(r.account_id for r in started)
    starving = [a for a, n in due.items() if n and ran[a] < n]
    never = [a for a, n in due.items() if n and not ran[a]]
    requests: dict[str, list[int]] = defaultdict(list)
    streams: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    made: list[tuple[str, dict[str, int]]] = []
    for r in done:
        requests[sizes[r.account_id]].append(r.requests)
        per_stream = {
            stream: int(stats["requests"])
            for stream, stats in (r.stats or {}).items()
            if isinstance(stats, dict) and "requests" in stats
        }
        made.append((r.account_id, per_stream))
        for stream, made_requests in per_stream.items():
            streams[sizes[r.account_id]][stream].append(made_requests)
    minutes = (end - start) / 60_000
    return {
        "workers": count,
        "minutes": minutes,
        "slots": sum(due.values()),
        "started": len(started),
        "succeeded": len(done),
        "failed": sum(1 for r in runs if r.status == "failed"),
        "per_minute_per_worker": len(finished) / ((drained - start) / 60_000) / count,
        "lag_p50": pct(lags, 0.5),
        "lag_p99": pct(lags, 0.99),
        "connections_mean": statistics.fmean(samples) if samples else 0.0,
        "connections_max": max(samples, default=0),
        "starving": len(starving),
        "never": len(never),
        "cpu_per_sync": cpu / len(finished) if finished else float("nan"),
        "requests": {s: statistics.median(v) for s, v in requests.items()},
        "made": made,
        "streams": {
            size: {name: statistics.median(v) for name, v in by_stream.items()}
            for size, by_stream in streams.items()
        },
    }


def hourly_minimum(
    size: Size, key: str, now_ms: int, days: int, last_run_ms: int
) -> dict[str, int]:
    """Requests an hourly run of the team with ``key`` needs, from a replica of the size's
    simulator (same seed, same frozen now, same key, so the same data: each team's data
    differs): pages at the largest size over each lookback."""
    sim = SimulatedCursor(SimulatorConfig(
        seed=SEED, users=size.users, days=days, now_ms=now_ms, plan=size.plan,  # type: ignore[arg-type]
        api_keys=(key,), rate_limits="off", enterprise_days=2, agent_days=1,
    ))  # fmt: skip
    start = {s: day_floor(last_run_ms) - d * DAY_MS for s, d in LOOKBACK_DAYS.items()}
    need = minimum_requests(sim, start, last_run_ms)
    enterprise = enterprise_minimum(sim, day_floor(last_run_ms) - 2 * DAY_MS, last_run_ms,
                                    last_run_ms)  # fmt: skip
    if size.plan == "team":
        for gated in ("audit_logs", "billing_groups"):
            need.pop(gated, None)  # refused once, then known unavailable
        # Cloud Agents come with every plan: the listing is read (and finds none here).
        need["agent_runs"] = enterprise["agent_runs"]
    else:
        need.update(enterprise)
    return need


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--minute-seconds", type=float, default=10.0)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args))


async def run(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}; load: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as work:
        await fleet(Path(work), args)


async def fleet(logs: Path, args: argparse.Namespace) -> None:
    now = int(time.time() // 60 * 60 * 1000)
    keys = split(args.teams)
    async with AsyncExitStack() as stack:
        bases = {
            s.name: stack.enter_context(simulator_process(*
                sim_args(s, keys[s.name], now, args.minute_seconds, args.days),
                log=logs / f"sim-{s.name}.log"))
            for s in SIZES
        }  # fmt: skip
        url = stack.enter_context(database())
        settings = Settings(data_dir=logs, database_url=url, allow_private_urls=True,
                            schedule_minute_seconds=args.minute_seconds)  # fmt: skip
        env = worker_env(url, logs, args.minute_seconds)
        empty_bytes = 0
        t0 = time.perf_counter()
        sizes, team_key = await link_all(settings, bases, keys)
        empty_bytes = database_bytes(url)
        print(f"linked {len(sizes)} teams in {time.perf_counter() - t0:.0f} s "
              f"({', '.join(f'{s}: {len(k)}' for s, k in keys.items())})")  # fmt: skip
        # One reader for the whole run (opening a runtime per poll would hold connections).
        runtime = await open_runtime(settings)
        stack.push_async_callback(runtime.close)
        t0 = time.perf_counter()
        with workers(4, env, args.concurrency, logs):
            while await backfilled(runtime) < len(sizes):
                if time.perf_counter() - t0 > 3600:
                    raise SystemExit("the backfills did not finish in an hour")
                await asyncio.sleep(2)
        store = database_bytes(url) - empty_bytes
        print(f"backfilled {len(sizes)} teams ({args.days} days each) in "
              f"{time.perf_counter() - t0:.0f} s with 4 workers; store {store / 1e6:.1f} MB")  # fmt: skip
        print("  largest tables: " + ", ".join(
            f"{name} {size / 1e6:.1f} MB" for name, size in largest_tables(url)))  # fmt: skip
        results = []
        for count in (int(n) for n in args.workers.split(",")):
            r = await steady_phase(count, args, runtime, env, url, logs, sizes)
            results.append(r)
            print(
                f"[{count} worker(s)] {r['succeeded']}/{r['slots']} slots synced in "
                f"{r['minutes']:.1f} min: {r['per_minute_per_worker']:.1f} syncs/min/worker; "
                f"lag p50 {r['lag_p50']:.1f} s p99 {r['lag_p99']:.1f} s; connections mean "
                f"{r['connections_mean']:.1f} max {r['connections_max']}; starving teams "
                f"{r['starving']} ({r['never']} without any run); failed {r['failed']}; worker CPU {r['cpu_per_sync']:.2f} s/sync; "
                f"median requests/run {r['requests']}"
            )
        last = int(time.time() * 1000)
        by_size = {s.name: s for s in SIZES}
        need = {
            account: hourly_minimum(by_size[size], team_key[account], now, args.days, last)
            for account, size in sizes.items()
        }
        for r in results:
            _against_minimum(r, sizes, need)
        _cost(results, store, len(sizes), args.days, load=os.getloadavg()[0])


def _against_minimum(
    result: dict[str, Any], sizes: dict[str, str], need: dict[str, dict[str, int]]
) -> None:
    """Each run's requests against its own team's minimum (teams of a size differ in data:
    one holds 987 events in a window, another 1,136, one page of 1,000 or two)."""
    made: list[tuple[str, dict[str, int]]] = result["made"]
    total = sum(sum(streams.values()) for _, streams in made)
    minimum = sum(sum(need[account].values()) for account, _ in made)
    above: Counter[str] = Counter()
    below: Counter[str] = Counter()
    per_size: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for account, streams in made:
        own = need[account]
        per_size[sizes[account]].append((sum(streams.values()), sum(own.values())))
        for stream in streams.keys() | own.keys():
            if streams.get(stream, 0) > own.get(stream, 0):
                above[stream] += 1
            elif streams.get(stream, 0) < own.get(stream, 0):
                below[stream] += 1
    print(f"  [{result['workers']} worker(s)] requests against each team's own minimum: "
          f"{total:,} made, {minimum:,} needed ({total / max(minimum, 1):.3f}x) over "
          f"{len(made)} runs")  # fmt: skip
    for size, pairs in sorted(per_size.items()):
        print(f"    {size}: median {statistics.median(m for m, _ in pairs):g} made, "
              f"{statistics.median(n for _, n in pairs):g} needed")  # fmt: skip
    for stream in sorted(above.keys() | below.keys()):
        print(f"    {stream}: {above[stream]} runs above their minimum, {below[stream]} below")


def _cost(results: list[dict[str, Any]], store: int, teams: int, days: int, load: float) -> None:
    best = min(results, key=lambda r: r["cpu_per_sync"])
    runs_per_month = 24 * 30
    print(f"per account-month (hourly, the fleet's mix; load {load:.1f}):")
    print(f"  worker CPU: {best['cpu_per_sync'] * runs_per_month:.0f} s")
    print(f"  store: {store / teams / days * 30 / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
