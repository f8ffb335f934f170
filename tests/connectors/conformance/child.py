"""One sync in a process of its own, for the SIGKILL check:

    python -m tests.connectors.conformance.child HARNESS ACCOUNT_ID NOW_MS

The database and data directory come from ``UNIMETER_DATABASE_URL`` and
``UNIMETER_DATA_DIR``; the account already holds the simulator's base URL. It is what
``unimeter sync`` does, with the harness's connector registered first (a test vendor is
unknown to the shipped command).
"""

from __future__ import annotations

import asyncio
import sys

from tests.connectors.conformance.harnesses import HARNESSES
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.sync.service import sync_account


async def main(harness: str, account_id: str, now_ms: int) -> None:
    runtime = await open_runtime(Settings(), clock=lambda: now_ms)
    try:
        runtime.registry.register(HARNESSES[harness].child_connector(), replace=True)
        report = await sync_account(runtime, account_id)
        sys.stdout.write(report.status + "\n")
    finally:
        await runtime.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
