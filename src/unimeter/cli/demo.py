"""``unimeter demo``: the command; its work is in ``demo_run.py``.

Imported when the demo runs, not when the CLI starts: the demo serves the API (FastAPI,
uvicorn, every router) and runs the simulators, and every other command would otherwise
pay for importing them.
"""

from __future__ import annotations


def demo_command() -> None:
    """Run the product on embedded defaults against a simulated vendor (see README)."""
    from .demo_run import run_demo

    run_demo()
