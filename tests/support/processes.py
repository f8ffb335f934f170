"""The processes a test started, as the kernel lists them."""

from __future__ import annotations

from pathlib import Path


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (of its main thread); none once it has exited."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:  # exited meanwhile
        return []
