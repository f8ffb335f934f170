"""Anthropic backfill benchmark: a 1,000-user organization over 90 days, into SQLite.

    python bench/anthropic_backfill.py

The simulator runs in its own process (``unimeter simulator --vendor anthropic``) over real
HTTP, with its real rate limit on: 60 requests per minute per organization, on a scaled
clock where one minute lasts ``MINUTE_SECONDS`` for both the simulator and the client's
pacer. The sync runs in a child process of its own, so its peak RSS is the sync's alone.

Recorded: requests per stream against the minimum possible (the pages needed at the maximum
page size: Claude Code one request per day per 1,000 rows; the Messages and cost reports
one per 31 daily buckets; the lists one per 1,000 items; the probe for where the data
starts one per 31 days of history plus the empty range that ends it), 429s received,
seconds, records and facts written, and peak RSS.
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

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, peak_rss_mb, simulator_process
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.connectors.anthropic.connector import AnthropicConnector
from unimeter.connectors.anthropic.simulator import (
    AnthropicSimConfig,
    SimulatedAnthropic,
    default_admin_key,
)
from unimeter.connectors.registration import default_registry
from unimeter.db.models import Member, UsageFact

SEED = 13
USERS = int(os.environ.get("BENCH_USERS", 1000))
DAYS = 90
PER_MINUTE = 60
MINUTE_SECONDS = float(os.environ.get("BENCH_MINUTE_SECONDS", 0.5))
PAGE = 1000  # the largest page of the lists and of the Claude Code report
BUCKETS = 31  # the largest page of daily buckets of the Messages and cost reports


def _now_ms() -> int:
    """A frozen "now" in the middle of a UTC day (12:34:56 today)."""
    today = dt.datetime.now(dt.UTC).replace(hour=12, minute=34, second=56, microsecond=0)
    return int(today.timestamp() * 1000)


def _config(now_ms: int) -> AnthropicSimConfig:
    return AnthropicSimConfig(seed=SEED, now_ms=now_ms, users=USERS, days=DAYS,
                              rate_limit_per_minute=PER_MINUTE, minute_seconds=MINUTE_SECONDS)  # fmt: skip


def _simulator_args(now_ms: int) -> list[str]:
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).isoformat()
    return ["--vendor", "anthropic", "--seed", str(SEED), "--now", now, "--users", str(USERS),
            "--days", str(DAYS), "--rate-limit-per-minute", str(PER_MINUTE),
            "--minute-seconds", str(MINUTE_SECONDS)]  # fmt: skip


# -- the sync (child process) ---------------------------------------------------------------


async def _sync(base_url: str, work: str, now: str) -> dict[str, Any]:
    from unimeter.sync.service import sync_account

    now_ms = int(now)
    settings = Settings(data_dir=Path(work), database_url=f"sqlite:///{work}/unimeter.db")
    # The connector decides which days are complete by the simulator's frozen now.
    connector = AnthropicConnector(minute_seconds=MINUTE_SECONDS, clock=lambda: now_ms)
    runtime = await open_runtime(
        settings, registry=default_registry(connector), clock=lambda: now_ms
    )
    try:
        request = LinkRequest("anthropic", default_admin_key(SEED), base_url=base_url)
        account = await link_account(runtime, request)
        report = await sync_account(runtime, account.id)
        async with runtime.db.reader() as session:
            facts = await session.scalar(select(func.count()).select_from(UsageFact))
            members = await session.scalar(select(func.count()).select_from(Member))
    finally:
        await runtime.close()
    streams = {
        name: {"requests": s.requests, "rate_limited": s.rate_limited, "retries": s.retries,
               "inserted": s.inserted, "seconds": s.seconds, "waited": s.waited_seconds}
        for name, s in report.streams.items()
    }  # fmt: skip
    return {"status": report.status, "error": report.error, "seconds": report.seconds,
            "streams": streams, "facts": facts, "members": members, "rss_mb": peak_rss_mb()}  # fmt: skip


# -- the minimum, from the same simulator's truth (this process) ----------------------------


def minimum_requests(now_ms: int) -> dict[str, int]:
    """Pages each stream needs at the maximum page size over the whole history."""
    truth = SimulatedAnthropic(_config(now_ms)).truth()
    today = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC).date()
    start = truth.history_start
    complete = (today - start).days  # the report days before today
    workspaces = truth.workspaces()
    members: dict[str, int] = {}
    for member in truth.workspace_members():
        members[member["workspace_id"]] = members.get(member["workspace_id"], 0) + 1
    code_days = [start + dt.timedelta(days=n) for n in range(complete + 1)]
    code_days = [d for d in code_days if _code_day_complete(d, now_ms)]
    current_users = sum(u.removed_at_ms is None for u in truth.users())
    return {
        "probe": math.ceil(complete / BUCKETS) + 1,
        "users": _pages(current_users),
        "workspaces": _pages(len(workspaces))
        + sum(_pages(members.get(w["id"], 0)) for w in workspaces),
        "api_keys": _pages(len(truth.api_keys())),
        "claude_code": sum(_pages(len(truth.claude_code_rows(d))) for d in code_days),
        "messages_usage": math.ceil(complete / BUCKETS),
        "cost_report": math.ceil(complete / BUCKETS),
    }


def _pages(items: int) -> int:
    return max(1, math.ceil(items / PAGE))


def _code_day_complete(day: dt.date, now_ms: int) -> bool:
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp()
    return int(end * 1000) + 3_600_000 <= now_ms


# -- report ---------------------------------------------------------------------------------


def run() -> dict[str, Any]:
    now_ms = _now_ms()
    with tempfile.TemporaryDirectory() as work, simulator_process(*_simulator_args(now_ms)) as url:
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "sync", url, work, str(now_ms)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    result["minimum"] = minimum_requests(now_ms)
    return result


def main() -> None:
    print(f"machine: {machine()}")
    print(f"organization: {USERS} users, {DAYS} days; rate limit {PER_MINUTE}/min with "
          f"{MINUTE_SECONDS} s minutes (simulator and client)")  # fmt: skip
    r = run()
    if r["status"] != "succeeded":
        raise SystemExit(f"the sync failed: {r['error']}")
    streams, minimum = r["streams"], r["minimum"]
    print(f"{'stream':<16}{'requests':>9}{'minimum':>9}{'ratio':>7}{'429s':>6}"
          f"{'written':>9}{'seconds':>9}")  # fmt: skip
    for name, s in streams.items():
        need = minimum.get(name, 0)
        ratio = f"{s['requests'] / need:.2f}" if need else "-"
        print(f"{name:<16}{s['requests']:>9}{need:>9}{ratio:>7}{s['rate_limited']:>6}"
              f"{s['inserted']:>9}{s['seconds']:>9.1f}")  # fmt: skip
    made = sum(s["requests"] for s in streams.values())
    need = sum(minimum.get(name, 0) for name in streams)
    limited = sum(s["rate_limited"] for s in streams.values())
    print(f"{'total':<16}{made:>9}{need:>9}{made / need:>7.2f}{limited:>6}"
          f"{sum(s['inserted'] for s in streams.values()):>9}{r['seconds']:>9.1f}")  # fmt: skip
    print(f"facts in the store: {r['facts']:,}; members: {r['members']:,}; "
          f"sync {r['seconds']:.1f} s (with start-up {r['wall_seconds']:.1f} s); "
          f"peak RSS of the sync process {r['rss_mb']:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["sync"]:
        print(json.dumps(asyncio.run(_sync(*sys.argv[2:5]))))
    else:
        main()
