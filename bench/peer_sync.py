"""The timed unimeter process of ``bench/peer.py``: link the simulated team and sync it, as
``unimeter accounts link`` and ``unimeter sync`` do, in one process.

    python bench/peer_sync.py BASE_URL DATA_DIR DATABASE_URL events|all   # key in BENCH_PEER_KEY

A file of its own, importing only what those commands import: started from ``peer.py``, it
would import the benchmark's own tools (the simulator, numpy, psycopg, the HTTP app) and
time them as unimeter's start-up. Prints one JSON line: the account, the run's status and
its in-process seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from unimeter.accounts.service import LinkRequest, link_account
from unimeter.config import Settings
from unimeter.kit.collector import settle_after_start
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.wiring import open_runtime

# Like for like with the peer, which reads members and usage events only.
EVENTS_ONLY = SyncOptions(streams=frozenset({"members", "usage_events"}))


async def _sync(base_url: str, work: str, database_url: str, streams: str) -> dict[str, Any]:
    runtime = await open_runtime(Settings(data_dir=Path(work), database_url=database_url))
    settle_after_start()  # as every CLI command does once its runtime is open
    try:
        key = os.environ["BENCH_PEER_KEY"]
        account = await link_account(runtime, LinkRequest("cursor", key, base_url=base_url))
        options = EVENTS_ONLY if streams == "events" else SyncOptions()
        report = await sync_account(runtime, account.id, options)
    finally:
        await runtime.close()
    return {"account": account.id, "status": report.status, "sync_seconds": report.seconds}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_sync(*sys.argv[1:5]))))
