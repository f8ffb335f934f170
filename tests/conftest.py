from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import snapshots
from tests.support.browser import chromium
from tests.support.databases import PostgresDatabases, SQLiteDatabases, postgres_url
from tests.webhooks.receiver import Receiver, receiving

BACKENDS = ["sqlite", "postgres"]
__all__ = ["chromium"]  # headless Chromium for the browser tests


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last, so each test process starts Chromium as few times as possible
    (``chromium`` lives per module: see tests/support/browser.py)."""
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLiteDatabases]:
    factory = SQLiteDatabases(tmp_path_factory.mktemp("sqlite"))
    yield factory
    factory.close()


@pytest.fixture(scope="session", autouse=True)
def _snapshots() -> Iterator[None]:
    """Drops the synced-world snapshots this process built (tests/support/snapshots.py)."""
    yield
    snapshots.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    url = postgres_url()
    if url is None:
        yield None
        return
    factory = PostgresDatabases(url)
    yield factory
    factory.close()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    sqlite_databases: SQLiteDatabases,
    postgres_databases: PostgresDatabases | None,
) -> str:
    """A fresh, migrated database per test, on each backend."""
    if request.param == "sqlite":
        return sqlite_databases.create()
    if postgres_databases is None:
        pytest.skip("PostgreSQL tests need UNIMETER_TEST_DATABASE_URL (CI sets it)")
    return postgres_databases.create()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a real loopback port (tests/webhooks/receiver.py)."""
    with receiving() as r:
        yield r


@pytest.fixture
def sqlite_url(sqlite_databases: SQLiteDatabases) -> str:
    """A fresh, migrated SQLite database, for tests that drive the CLI as processes: the
    CLI calls the same services the API tests cover on both backends, and each process
    start costs seconds, so these run on one backend."""
    return sqlite_databases.create()
