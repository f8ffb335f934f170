"""Where a Cursor backfill spends its time: one in-process sync under cProfile.

    python bench/profile_sync.py                        # SQLite, members + usage events
    python bench/profile_sync.py --all-streams          # every stream
    python bench/profile_sync.py --pg postgresql://postgres@127.0.0.1:5432/db

The simulator runs in its own process (rate limits off), so the profile is our side only.
The summary (top functions by own time and by cumulative time) is printed and, with
``--out``, written to a file for bench/profiles/.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, peak_rss_mb, simulator_process
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.kit.collector import settle_after_start
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account

KEY = "crsr_" + "b" * 64
EVENTS_ONLY = SyncOptions(streams=frozenset({"members", "usage_events"}))


async def _sync(
    base_url: str, database_url: str, work: str, options: SyncOptions, profiled: bool
) -> str:
    settings = Settings(data_dir=Path(work), database_url=database_url)
    runtime = await open_runtime(settings)
    settle_after_start()  # as `unimeter sync` does once its runtime is open
    try:
        account = await link_account(runtime, LinkRequest("cursor", KEY, base_url=base_url))
        profile = cProfile.Profile()
        started = time.perf_counter()
        if profiled:
            profile.enable()
        report = await sync_account(runtime, account.id, options)
        profile.disable()
        wall = time.perf_counter() - started
    finally:
        await runtime.close()
    events = report.streams["usage_events"]
    head = (
        f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}\n"
        f"events {events.inserted:,}, requests {events.requests}, wall {wall:.1f} s "
        f"{'(under cProfile) ' if profiled else ''}{events.inserted / wall:,.0f} events/s, "
        f"peak RSS {peak_rss_mb():.0f} MB\n"
    )
    return head + (_summary(profile) if profiled else "")


def _summary(profile: cProfile.Profile) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    out.write("\n== by own time ==\n")
    stats.sort_stats("tottime").print_stats(35)
    out.write("\n== by cumulative time ==\n")
    stats.sort_stats("cumulative").print_stats(45)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=29)
    parser.add_argument("--pg", help="a PostgreSQL URL (its database is used as is)")
    parser.add_argument("--all-streams", action="store_true")
    parser.add_argument("--out", help="write the summary to this file too")
    parser.add_argument("--plain", action="store_true", help="no cProfile (for py-spy)")
    args = parser.parse_args()
    now = int(time.time() // 3600 * 3600 * 1000)
    sim_args = ["--users", str(args.users), "--days", str(args.days), "--now", str(now),
                "--rate-limits", "off", "--api-key", KEY, "--seed", "7"]  # fmt: skip
    options = SyncOptions() if args.all_streams else EVENTS_ONLY
    # Rate limits off on our side too: a client budget that never waits.
    os.environ["UNIMETER_CURSOR_MINUTE_SECONDS"] = "0.0001"
    with tempfile.TemporaryDirectory() as work, simulator_process(*sim_args) as base_url:
        url = args.pg or f"sqlite:///{work}/unimeter.db"
        text = asyncio.run(_sync(base_url, url, work, options, not args.plain))
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
