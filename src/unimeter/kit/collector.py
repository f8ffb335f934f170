"""The cyclic garbage collector, tuned for a process that owns its runtime."""

from __future__ import annotations

import gc


def settle_after_start() -> None:
    """Keep the cyclic collector off the start-up objects and out of short-lived rows.

    Python's full collections walk every tracked object, and a started process holds
    ~120k of them (modules, ORM models, routes) that never become garbage. They ran often
    enough to show in an analysis's p99 (a query reading thousands of rows) and in a
    backfill's CPU (every page allocates thousands of dicts and tuples): see BENCHMARKS.md.
    Frozen objects are never collected, so this is for processes that keep what they
    started with until they exit (``serve``, ``worker``, the CLI's commands), after their
    imports and their runtime are in place.
    """
    gc.freeze()
    # Young collections every 20,000 allocations instead of 700: a page of events is a
    # few thousand short-lived containers, most freed by reference counting anyway.
    gc.set_threshold(20_000, 20, 10)
