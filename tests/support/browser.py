"""Headless Chromium for the browser tests, through Playwright's sync API.

Browsers cannot be downloaded here, so Playwright drives Debian's ``chromium`` (installed by
``make browser``, which ``make test`` runs). Without it the browser tests are skipped
locally and fail in CI. Screenshots go to ``artifacts/screenshots`` (or
``$UNIMETER_ARTIFACTS/screenshots``), which CI keeps.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def chromium_path() -> str | None:
    return os.environ.get("UNIMETER_CHROMIUM") or shutil.which("chromium")


def artifacts_dir() -> Path:
    base = Path(os.environ.get("UNIMETER_ARTIFACTS") or ROOT / "artifacts")
    path = base / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class ConsoleWatch:
    """Console errors and uncaught page errors seen by a page, for "no console errors"."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (each test opens its own context).

    Not per session: Playwright's sync API keeps an event loop running in this thread while
    it lives, which would break any asyncio test the same process runs afterwards."""
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make browser` installs Debian's package")
        pytest.skip("browser tests need Debian's chromium (`make browser` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
