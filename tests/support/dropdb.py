"""Dropping test databases without waiting for it.

Each ``DROP DATABASE`` makes PostgreSQL checkpoint (0.1 s on a quiet server, seconds under
load), and a test session creates hundreds of databases: dropping them in the session would
add minutes to every run. :func:`drop_later` hands them to a detached
``python -m tests.support.dropdb ADMIN_URL NAME...``, which drops them while the next tests
run.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]


def drop_later(admin_url: str, names: Sequence[str]) -> None:
    if not names:
        return
    subprocess.Popen(
        [sys.executable, "-m", "tests.support.dropdb", admin_url, *names],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def drop(admin_url: str, names: Sequence[str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(statement.format(sql.Identifier(name)))


if __name__ == "__main__":
    drop(sys.argv[1], sys.argv[2:])
