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
