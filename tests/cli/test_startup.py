"""A command that needs no HTTP server starts without importing one.

Importing the CLI (what every ``unimeter`` command does before it runs) must not pull in
the web stack, the job queue, the mail sender or the simulators: those belong to ``serve``,
``worker``, ``demo``, ``mcp``, ``notifications`` and ``simulator``, which import them when
they run. They were about a second of every other command's start-up, ``unimeter sync``
included. A fresh interpreter, so that modules other tests imported do not count.
"""

from __future__ import annotations

import subprocess
import sys

from unimeter import __version__

# Packages only some commands need.
HEAVY = ("fastapi", "starlette", "uvicorn", "jinja2", "procrastinate", "aiosmtplib", "numpy")

PROBE = f"""
import sys
import unimeter.cli.main
import unimeter.wiring
print(" ".join(name for name in {HEAVY!r} if name in sys.modules))
"""


def test_the_cli_starts_without_the_web_stack_or_the_job_queue() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == []


# A command's runtime opened, what the collector is left doing (a fresh interpreter: the
# tuning is process-wide and frozen objects are never collected).
GC_PROBE = """
import gc, os, tempfile
from unimeter.cli.common import run

async def main(runtime):
    return gc.get_threshold(), gc.get_freeze_count()

with tempfile.TemporaryDirectory() as data:
    os.environ["UNIMETER_DATA_DIR"] = data
    os.environ.pop("UNIMETER_DATABASE_URL", None)
    threshold, frozen = run(main)
print(threshold[0], frozen)
"""


def test_a_command_keeps_the_collector_off_its_start_up_objects() -> None:
    done = subprocess.run(
        [sys.executable, "-c", GC_PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    young, frozen = map(int, done.stdout.split())
    assert young == 20_000  # not Python's 700: a page of events is thousands of containers
    assert frozen > 10_000  # the modules and models of start-up, never walked again


# The command's entry point, run in a fresh interpreter: how many full collections its
# imports cost, and whether the collector is on again once they are done.
ENTRY_PROBE = """
import gc, sys
from unimeter.cli import entry

sys.argv = ["unimeter", "version"]
try:
    entry.main()
except SystemExit as done:
    assert done.code == 0, done.code
print(gc.get_stats()[2]["collections"], gc.isenabled())
"""


def test_the_entry_point_imports_the_cli_without_full_collections() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_PROBE], capture_output=True, text=True, check=True,
        timeout=120,
    )  # fmt: skip
    version, full_collections, enabled = done.stdout.split()
    assert version == __version__, "the command ran"
    # Plain `import unimeter.cli.main` runs two full collections (and ~250 young ones).
    assert (int(full_collections), enabled) == (0, "True")
