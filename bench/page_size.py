"""A SQLite store's page size, measured: the same backfill into stores of each size.

    python bench/page_size.py                    # 4096 (SQLite's default) against ours
    python bench/page_size.py --rounds 5 --sizes 4096,8192,16384

One simulator process (rate limits off, frozen clock) serves every run. Each round syncs
members + usage events into a fresh store of each size, in an order that alternates from
round to round, so that a machine's drift favours neither. A store file is given its size
before unimeter opens it (``start_store_file`` does the same for a new store, at ours).
Prints each run's sync seconds and the store's size, then the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, simulator_process
from backfill import KEY, UNLIMITED
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.db.engine import STORE_PAGE_SIZE, start_store_file
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account

EVENTS_ONLY = SyncOptions(streams=frozenset({"members", "usage_events"}))


async def _sync(base_url: str, page_size: int) -> tuple[float, int, int]:
    """Sync seconds, events stored and the store's bytes, for a store of ``page_size``."""
    work = Path(tempfile.mkdtemp(prefix="um-page-"))
    path = work / "unimeter.db"
    start_store_file(path, page_size)  # opening the store then keeps it, owner-only
    runtime = await open_runtime(Settings(data_dir=work, database_url=f"sqlite:///{path}"))
    try:
        account = await link_account(runtime, LinkRequest("cursor", KEY, base_url=base_url))
        started = time.perf_counter()
        report = await sync_account(runtime, account.id, EVENTS_ONLY)
        seconds = time.perf_counter() - started
        if report.status != "succeeded":
            raise SystemExit(f"the sync {report.status}: {report.error}")
    finally:
        await runtime.close()
    stored = sqlite3.connect(path)
    try:
        (size,) = stored.execute("PRAGMA page_size").fetchone()
        if size != page_size:
            raise SystemExit(f"the store has pages of {size} bytes, not {page_size}")
        (count,) = stored.execute("SELECT count(*) FROM usage_events").fetchone()
    finally:
        stored.close()
    return seconds, count, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=29)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sizes", default=f"4096,{STORE_PAGE_SIZE}")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ["UNIMETER_CURSOR_MINUTE_SECONDS"] = UNLIMITED
    print(f"machine: {machine()}; {args.users} members, {args.days} days")
    simulator = ("--users", str(args.users), "--days", str(args.days), "--seed", "7",
                 "--rate-limits", "off", "--now", "2026-12-06T19:00:00Z", "--api-key", KEY)  # fmt: skip
    seconds: dict[int, list[float]] = {size: [] for size in sizes}
    with simulator_process(*simulator) as base_url:
        for round_ in range(args.rounds):
            order = sizes if round_ % 2 == 0 else list(reversed(sizes))
            for size in order:
                wall, events, store_bytes = asyncio.run(_sync(base_url, size))
                seconds[size].append(wall)
                print(f"round {round_ + 1}: page {size:>6}: sync {wall:.2f} s, "
                      f"{events:,} events, store {store_bytes / 1e6:.0f} MB", flush=True)  # fmt: skip
    print("\n| Page size | Runs | Median sync s | vs 4096 |\n|---|---|---|---|")
    base = statistics.median(seconds[4096]) if 4096 in seconds else None
    for size in sizes:
        median = statistics.median(seconds[size])
        ratio = f"{base / median:.2f}x" if base else "n/a"
        print(f"| {size} | {len(seconds[size])} | {median:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
