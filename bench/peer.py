"""The peer benchmark (issue 15): ingestr 0.14.155 against ``unimeter sync`` on the same
simulated team, in the same run, into an embedded store and into PostgreSQL.

    python bench/peer.py            # both backends (make bench-peer)
    python bench/peer.py sqlite     # one of: sqlite | pg
    BENCH_PEER_USERS=300 BENCH_PEER_DAYS=29 BENCH_PEER_SEED=7 python bench/peer.py
    BENCH_PEER_PG=postgresql://postgres@127.0.0.1:5432/postgres   # the server to use
    BENCH_PEER_ALL=0 python bench/peer.py   # skip the every-stream runs (minutes each)
    BENCH_PEER_ROUNDS=3 python bench/peer.py    # alternating rounds per backend (default 3);
                                                # the last table is the medians

ingestr is the tool a data engineer would pick. It lives in its own virtualenv
(``.bench/peer-ingestr-0.14.155``, created once) whose ``sitecustomize.py`` rebinds the
default ``base_url`` of its CursorClient from ``INGESTR_CURSOR_BASE_URL``: nothing else of it
is changed. One ``unimeter simulator`` process (rate limits off, frozen clock) serves both
tools. Each tool runs as its own process, timed from launch to exit (interpreter start,
imports and store set-up included for both), with that process's own peak RSS.

- ingestr: ``team_members`` then ``filtered_usage_events`` for the whole history (one interval
  from the simulator's first day to now; Cursor refuses more than 30 days) into DuckDB, its
  default local destination, and into PostgreSQL.
- unimeter: the same sync the CLI runs (``sync_account``), members + usage_events only (apples
  to apples) and every stream, into SQLite and PostgreSQL; each run into a fresh store, in
  a process of its own (``bench/peer_sync.py``: what ``unimeter sync`` imports, no more).

Afterwards (untimed) each store is compared with the simulator's ground truth: unimeter's
events must be the truth's payloads, each as often as the truth has it; ingestr's rows are matched to the
truth by content (it keeps no event identity), counting rows, distinct rows, missing and extra.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, simulator_process
from backfill import KEY, UNLIMITED
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.cursor.simulator import SimulatedCursor, SimulatorConfig
from unimeter.connectors.cursor.simulator.config import DAY_MS
from unimeter.db.models import Member, UsageEvent

PEER_VERSION = "0.14.155"
PEER_DIR = Path(__file__).resolve().parent.parent / ".bench" / f"peer-ingestr-{PEER_VERSION}"
# Rebinds only the default base URL, and only when the variable is set.
SHIM = """import os

if os.environ.get("INGESTR_CURSOR_BASE_URL"):
    from ingestr.src.cursor import helpers as _helpers

    _helpers.CursorClient.__init__.__defaults__ = (
        os.environ["INGESTR_CURSOR_BASE_URL"],
        _helpers.REQUEST_TIMEOUT,
    )
"""
# Run with the peer's interpreter: every row of its events table, dlt's own columns dropped.
READ_PEER_STORE = """import json, sys
import sqlalchemy as sa

with sa.create_engine(sys.argv[1]).connect() as c:
    members = c.execute(sa.text("select count(*) from cursor.team_members")).scalar()
    result = c.execute(sa.text("select * from cursor.usage_events"))
    names = list(result.keys())
    rows = [{k: v for k, v in zip(names, r) if v is not None and not k.startswith("_dlt_")}
            for r in result]
with open(sys.argv[2], "w") as out:
    json.dump({"members": members, "rows": rows}, out, default=str)
"""
# ingestr's telemetry posts to the internet at exit; offline it hangs the process for minutes.
QUIET = {"INGESTR_DISABLE_TELEMETRY": "1", "RUNTIME__DLTHUB_TELEMETRY": "false"}


@dataclass(frozen=True, slots=True)
class Team:
    users: int
    days: int
    seed: int
    now_ms: int

    def simulator_args(self) -> list[str]:
        return ["--users", str(self.users), "--days", str(self.days), "--seed", str(self.seed),
                "--now", str(self.now_ms), "--rate-limits", "off", "--api-key", KEY]  # fmt: skip

    def simulated(self) -> SimulatedCursor:
        return SimulatedCursor(SimulatorConfig(seed=self.seed, users=self.users, days=self.days,
                                               now_ms=self.now_ms, rate_limits="off",
                                               api_keys=(KEY,)))  # fmt: skip


@dataclass(slots=True)
class Result:
    tool: str
    streams: str
    backend: str
    seconds: float
    rss_mb: float
    stored: int  # event rows in the store
    matched: int  # truth events found (each counted at most as often as the truth has it)
    members: int
    note: str = ""
    load: float = 0.0  # one-minute load average when the run ended (the machine is shared)

    def __post_init__(self) -> None:
        self.load = os.getloadavg()[0]


# -- processes ------------------------------------------------------------------------------


# A small process that runs the command and prints its peak RSS (kB) as a last line. The
# child's ru_maxrss counts the pages of the process it was forked from, so fork from this
# one, not from the benchmark that holds the whole ground truth in memory.
LAUNCH = """import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
print(usage.ru_maxrss, flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``cmd``; its wall seconds, its peak RSS in MB and its output."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, *cmd], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace",
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{Path(cmd[0]).name} failed ({done.returncode}):\n{done.stdout[-3000:]}")
    *lines, rss_kb = done.stdout.rstrip().splitlines()
    return seconds, int(rss_kb) / 1024, "\n".join(lines)


def peer_python() -> Path:
    """The peer's interpreter, its virtualenv created and ingestr installed on first use."""
    python = PEER_DIR / "bin" / "python"
    stamp = PEER_DIR / ".installed"
    if not stamp.exists():
        shutil.rmtree(PEER_DIR, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_DIR)], check=True)
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"ingestr=={PEER_VERSION}"],
            capture_output=True, text=True,
        )  # fmt: skip
        if pip.returncode:
            last = (pip.stderr.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(
                f"bench/peer.py: pip could not install ingestr=={PEER_VERSION}: {last}"
            )
        stamp.touch()
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "sitecustomize.py").write_text(SHIM)
    return python


@contextmanager
def databases(admin_url: str, names: list[str]) -> Iterator[list[str]]:
    """Fresh PostgreSQL databases of this benchmark's own, dropped afterwards."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            base = admin_url.rsplit("/", 1)[0]
            yield [f"{base}/{name}" for name in names]
        finally:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- ingestr --------------------------------------------------------------------------------


def history_interval(team: Team, truth_start_ms: int) -> tuple[str, str]:
    """The whole history as ingestr's interval, cut to the 30 days Cursor serves at once."""
    start = max(truth_start_ms, team.now_ms - 30 * DAY_MS)

    def iso(ms: int) -> str:
        return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z")

    return iso(start), iso(team.now_ms)


def run_ingestr(
    python: Path, base_url: str, dest_uri: str, interval: tuple[str, str]
) -> tuple[float, float]:
    env = {**os.environ, **QUIET, "INGESTR_CURSOR_BASE_URL": base_url}
    ingestr = str(python.with_name("ingestr"))
    seconds, rss = 0.0, 0.0
    for table, extra in (
        ("team_members", []),
        ("filtered_usage_events", ["--interval-start", interval[0], "--interval-end", interval[1]]),
    ):
        s, r, _ = timed(
            [ingestr, "ingest", "--yes", "--source-uri", f"cursor://?api_key={KEY}",
             "--source-table", table, "--dest-uri", dest_uri,
             "--dest-table", f"cursor.{table.replace('filtered_', '')}", *extra],
            env,
        )  # fmt: skip
        seconds, rss = seconds + s, max(rss, r)
    return seconds, rss


def ingestr_store(python: Path, dest_uri: str) -> tuple[int, list[bytes]]:
    """Members counted and event rows as canonical keys, read with the peer's own drivers."""
    # Through a file, quietly: DuckDB draws a progress bar on the terminal.
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        read = [str(python), "-c", READ_PEER_STORE, dest_uri, out.name]
        done = subprocess.run(read, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"reading ingestr's store failed: {done.stderr.strip()[-800:]}")
        data = orjson.loads(Path(out.name).read_bytes())
    return int(data["members"]), [_canonical(_as_stored(row)) for row in data["rows"]]


# dlt types a column from its first values; a later value of another JSON type goes to a
# variant column beside it (``requests_costs__v_double`` when the column began as integers).
_VARIANT = re.compile(r"__v_[a-z0-9_]+$")


def _as_stored(row: dict[str, Any]) -> dict[str, Any]:
    """Nested objects come back as JSON text from DuckDB; a number column is a double, so
    the API's ``0`` reads back as ``0.0``: both sides compare with floats. A value dlt put
    in a variant column is read back under its field's name."""
    return {
        _VARIANT.sub("", k): orjson.loads(v)
        if isinstance(v, str) and v.startswith("{")
        else float(v)
        if isinstance(v, int) and not isinstance(v, bool)
        else v
        for k, v in row.items()
    }


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _canonical(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def truth_as_ingestr_stores_it(payload: dict[str, Any]) -> bytes:
    """dlt snake-cases top-level names, keeps nested objects as JSON and drops nulls."""
    return _canonical(_as_stored({_snake(k): v for k, v in payload.items() if v is not None}))


# -- unimeter -------------------------------------------------------------------------------


def run_unimeter(
    base_url: str, work: str, database_url: str, streams: str
) -> tuple[float, float, dict[str, Any]]:
    env = {**os.environ, "UNIMETER_CURSOR_MINUTE_SECONDS": UNLIMITED, "BENCH_PEER_KEY": KEY}
    child = str(Path(__file__).with_name("peer_sync.py"))
    seconds, rss, out = timed([sys.executable, child, base_url, work, database_url, streams], env)
    return seconds, rss, json.loads(out.strip().splitlines()[-1])


async def unimeter_store(work: str, database_url: str, account_id: str) -> tuple[int, list[bytes]]:
    runtime = await open_runtime(Settings(data_dir=Path(work), database_url=database_url))
    try:
        async with runtime.db.reader() as session:
            raws = (
                await session.scalars(
                    select(UsageEvent.raw).where(UsageEvent.account_id == account_id)
                )
            ).all()
            members = await session.scalar(
                select(func.count()).select_from(Member).where(Member.account_id == account_id)
            )
    finally:
        await runtime.close()
    return int(members or 0), [_canonical(raw) for raw in raws]


# -- comparing with the truth ---------------------------------------------------------------


def score(stored: list[bytes], truth: Counter[bytes]) -> tuple[int, str]:
    """Truth events found, and what differs from the truth, in words."""
    got = Counter(stored)
    matched = sum((got & truth).values())
    notes = []
    if missing := truth - got:
        stamps = sorted(int(orjson.loads(k)["timestamp"]) for k in missing.elements())
        notes.append(f"{len(stamps):,} missing ({_utc(stamps[0])} to {_utc(stamps[-1])})")
    surplus = got - truth
    if duplicates := sum(n for key, n in surplus.items() if key in truth):
        notes.append(f"{duplicates:,} events stored more often than the truth has them")
    if extra := sum(n for key, n in surplus.items() if key not in truth):
        notes.append(f"{extra:,} rows not in the truth")
    if not notes and len(got) < len(stored):
        # Identical payloads the truth holds as several events (same user, ms and content).
        notes.append(f"{len(got):,} distinct rows, as in the truth")
    return matched, "; ".join(notes)


def _utc(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class Truth:
    events: int
    members: int
    for_unimeter: Counter[bytes]
    for_ingestr: Counter[bytes]
    interval: tuple[str, str]


def ground_truth(team: Team) -> Truth:
    truth = team.simulated().truth()
    events = truth.events(truth.history_start_ms)
    return Truth(
        events=len(events),
        members=len(truth.members()),
        for_unimeter=Counter(_canonical(e.payload) for e in events),
        for_ingestr=Counter(truth_as_ingestr_stores_it(e.payload) for e in events),
        interval=history_interval(team, truth.history_start_ms),
    )


# -- one backend ----------------------------------------------------------------------------


@contextmanager
def store(backend: str, tool: str, label: str, work: str) -> Iterator[str]:
    """A fresh store for one run: a file under ``work``, or a PostgreSQL database of its own."""
    if backend == "sqlite":
        Path(work, backend, label).mkdir(parents=True)
        name = "ingestr.duckdb" if tool == "ingestr" else "unimeter.db"
        yield f"{'duckdb' if tool == 'ingestr' else 'sqlite'}:///{work}/{backend}/{label}/{name}"
        return
    admin = os.environ.get("BENCH_PEER_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    with databases(admin, [f"unimeter_peer_{os.getpid()}_{label}"]) as [url]:
        if tool == "ingestr" and make_url(url).password is None:
            # dlt insists on a password even where the server trusts the user; one is ignored.
            url = make_url(url).set(password="unused").render_as_string(hide_password=False)
        yield url


def ingestr_row(
    backend: str, base_url: str, python: Path, table: Table, work: str, round_: int = 0
) -> None:
    truth = table.truth
    with store(backend, "ingestr", f"ingestr{round_}", work) as url:
        seconds, rss = run_ingestr(python, base_url, url, truth.interval)
        members, rows = ingestr_store(python, url)
    matched, note = score(rows, truth.for_ingestr)
    label = {"sqlite": "DuckDB", "pg": "PostgreSQL"}[backend]
    table.row(Result("ingestr", "members + events", label, seconds, rss, len(rows), matched,
                     members, note))  # fmt: skip


def unimeter_row(
    backend: str, base_url: str, streams: str, table: Table, work: str, round_: int = 0
) -> None:
    with store(backend, "unimeter", f"{streams}{round_}", work) as url:
        data_dir = Path(work, backend, f"{streams}{round_}")
        data_dir.mkdir(parents=True, exist_ok=True)
        seconds, rss, out = run_unimeter(base_url, str(data_dir), url, streams)
        members, raws = asyncio.run(unimeter_store(str(data_dir), url, out["account"]))
    matched, note = score(raws, table.truth.for_unimeter)
    what = "members + events" if streams == "events" else "all streams"
    note = "; ".join(filter(None, [f"sync {out['sync_seconds']:.1f} s in process", note]))
    label = {"sqlite": "SQLite", "pg": "PostgreSQL"}[backend]
    table.row(Result("unimeter", what, label, seconds, rss, len(raws), matched,
                     members, note))  # fmt: skip


# -- report ---------------------------------------------------------------------------------


class Table:
    """The results as a Markdown table, a row printed as soon as its run is scored."""

    def __init__(self, truth: Truth) -> None:
        self.truth = truth
        self._peer: dict[str, float] = {}
        self.seconds: dict[tuple[str, str, str], list[float]] = {}
        print(f"truth: {truth.events:,} events, {truth.members} members")
        print("| Tool | Streams | Backend | Events stored / truth | Exact | Members | Seconds "
              "| Events/s | vs ingestr | Peak RSS | Load | Notes |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)

    def row(self, r: Result) -> None:
        truth = self.truth
        rate = r.stored / r.seconds
        backend = "local" if r.backend in ("DuckDB", "SQLite") else r.backend
        if r.tool == "ingestr":
            self._peer[backend] = rate  # each round runs ingestr first, then unimeter
        self.seconds.setdefault((r.tool, r.streams, r.backend), []).append(r.seconds)
        exact = r.stored == r.matched == truth.events and r.members == truth.members
        print(f"| {r.tool} | {r.streams} | {r.backend} | {r.stored:,} / {truth.events:,} "
              f"| {'yes' if exact else 'no'} | {r.members} | {r.seconds:.1f} | {rate:,.0f} "
              f"| {rate / self._peer[backend]:.2f} | {r.rss_mb:.0f} MB | {r.load:.1f} "
              f"| {r.note} |", flush=True)  # fmt: skip


def medians(table: Table) -> None:
    """Each tool's median seconds over the rounds, and unimeter's speed against ingestr's
    (both stored the same events, so the ratio of events/s is that of the seconds)."""
    print(
        "\n| Backend | Rounds | ingestr median s | unimeter median s | unimeter / ingestr events/s |"
    )
    print("|---|---|---|---|---|")
    for peer_backend, backend in (("DuckDB", "SQLite"), ("PostgreSQL", "PostgreSQL")):
        peer = table.seconds.get(("ingestr", "members + events", peer_backend))
        ours = table.seconds.get(("unimeter", "members + events", backend))
        if peer and ours:
            ratio = statistics.median(peer) / statistics.median(ours)
            print(f"| {backend} | {len(ours)} | {statistics.median(peer):.1f} "
                  f"| {statistics.median(ours):.1f} | **{ratio:.2f}** |")  # fmt: skip


def main() -> None:
    backends = sys.argv[1:] or ["sqlite", "pg"]
    if unknown := set(backends) - {"sqlite", "pg"}:
        raise SystemExit(f"bench/peer.py: unknown backend {sorted(unknown)}; use sqlite and/or pg")
    team = Team(users=int(os.environ.get("BENCH_PEER_USERS", 300)),
                days=int(os.environ.get("BENCH_PEER_DAYS", 29)),
                seed=int(os.environ.get("BENCH_PEER_SEED", 7)),
                now_ms=int(time.time() // 3600 * 3600 * 1000))  # fmt: skip
    python = peer_python()
    # Alternating rounds: this machine's load moves between runs, and one run per tool
    # cannot tell a difference from the noise.
    rounds = int(os.environ.get("BENCH_PEER_ROUNDS", 3))
    print(f"machine: {machine()}; load average {os.getloadavg()}")
    truth = ground_truth(team)
    print(f"team: {team.users} members, {team.days} days, seed {team.seed}, now {_utc(team.now_ms)}"
          f" UTC; ingestr interval {' to '.join(truth.interval)}")  # fmt: skip
    table = Table(truth)
    with tempfile.TemporaryDirectory() as work, simulator_process(*team.simulator_args()) as url:
        # The like-for-like runs first on every backend; every stream (minutes: the
        # Enterprise streams read every AI change and agent run) last, unless BENCH_PEER_ALL=0.
        for backend in backends:
            for round_ in range(rounds):
                ingestr_row(backend, url, python, table, work, round_)
                unimeter_row(backend, url, "events", table, work, round_)
        if os.environ.get("BENCH_PEER_ALL", "1") != "0":
            for backend in backends:
                unimeter_row(backend, url, "all", table, work)
    print(f"load average after: {os.getloadavg()}")
    medians(table)


if __name__ == "__main__":
    main()
