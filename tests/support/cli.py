"""Running the ``unimeter`` command as a user would: a real process, real environment."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


def unimeter_exe() -> str:
    return str(Path(sys.executable).with_name("unimeter"))


@dataclass
class CLI:
    data_dir: Path
    database_url: str
    extra_env: dict[str, str] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("UNIMETER_", "CURSOR_"))}
        env.update(
            UNIMETER_DATA_DIR=str(self.data_dir),
            UNIMETER_DATABASE_URL=self.database_url,
            UNIMETER_CURSOR_MINUTE_SECONDS="0.02",
            COLUMNS="200",
        )
        env.update(self.extra_env or {})
        return env

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [unimeter_exe(), *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )


def one_line_error(result: subprocess.CompletedProcess[str], *secrets: str) -> str:
    """The single ``error:`` line of a failed command; fails the test on a zero exit code,
    a traceback, more than one line on stderr, or a secret anywhere in the output."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for secret in secrets:
        assert secret not in result.stdout + result.stderr
    return lines[0]
