"""The ``unimeter`` command's entry point: the CLI imported with the cyclic collector off.

Importing the CLI builds ~120k objects that live as long as the process (modules, ORM
mappings, pydantic models), and the collector's passes over that growing heap while it is
being built were ~0.1 s of every command's ~0.7 s start (measured: BENCHMARKS.md). None of
it is garbage; the collector resumes once it is in place, and a command that runs further
freezes it (:func:`unimeter.kit.collector.settle_after_start`).
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    try:
        from unimeter.cli.main import main as run
    finally:
        gc.enable()
    run()
