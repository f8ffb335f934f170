"""Backfill throughput against an older release, on the same simulated team, in one run.

    python bench/regression.py OLD_CHECKOUT [--rounds 3] [--users 300] [--days 30]

OLD_CHECKOUT is a checkout of the older release with its own ``.venv`` (``git worktree add
../old <ref> && make -C ../old install``). One simulator process (this checkout's) serves a
team with rate limits off; the old and the new code then each sync its members and usage
events into a fresh SQLite store through their own ``bench/backfill.py e2e``, alternating,
``--rounds`` times. Alternating in one run puts both under the same machine noise, which a
shared machine makes larger than most regressions; the median of the per-round ratios is
the figure to read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _support import machine, simulator_process
from backfill import KEY, UNLIMITED

HERE = Path(__file__).resolve().parent.parent


def e2e(checkout: Path, base_url: str, work: Path) -> dict[str, Any]:
    """One events-only backfill by the code in ``checkout``, as its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIMETER_")}
    env["UNIMETER_CURSOR_MINUTE_SECONDS"] = UNLIMITED
    python = checkout / ".venv" / "bin" / "python"
    args = ["e2e", base_url, str(work)]
    if checkout == HERE:  # this release's e2e also takes the store's URL
        args.append(f"sqlite:///{work}/unimeter.db")
    out = subprocess.run(
        [str(python), str(checkout / "bench" / "backfill.py"), *args],
        env=env, capture_output=True, text=True, check=True, cwd=checkout,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    old = args.old.resolve()
    if not (old / ".venv" / "bin" / "python").exists():
        raise SystemExit(f"{old} has no .venv: run `make install` there first")
    now = int(time.time() // 3600 * 3600 * 1000)
    sim = ["--users", str(args.users), "--days", str(args.days), "--now", str(now),
           "--rate-limits", "off", "--api-key", KEY]  # fmt: skip
    print(f"machine: {machine()}; old: {old}; new: {HERE}")
    ratios = []
    with simulator_process(*sim) as base_url, tempfile.TemporaryDirectory() as work:
        for n in range(args.rounds):
            rates = {}
            for name, checkout in (("old", old), ("new", HERE)):
                r = e2e(checkout, base_url, Path(work, f"{name}{n}"))
                # The events stream's own time: what every release reports the same way.
                seconds = r.get("stream_seconds", r["seconds"])
                rates[name] = r["events"] / seconds
                print(f"  round {n + 1} {name}: {r['events']:,} events in {seconds:.1f} s "
                      f"= {rates[name]:,.0f} events/s (load {os.getloadavg()[0]:.1f})")  # fmt: skip
            ratios.append(rates["new"] / rates["old"])
    print(f"new / old events/s per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
