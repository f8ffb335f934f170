"""One process of several, chosen by an exclusive lock on a file.

``unimeter serve --workers N`` starts N processes that all answer requests, but the
scheduler and the webhook and notification senders must run in one of them only. The one
that holds the lock runs them; when it exits (or dies) the kernel drops its lock and
another process takes it on its next try.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLock:
    """A non-blocking exclusive ``flock`` held until :meth:`release` or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
