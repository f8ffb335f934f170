"""Settings, read from ``UNIMETER_*`` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("unimeter", appauthor=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UNIMETER_", extra="ignore")

    # Where the embedded database and the secret key file live.
    data_dir: Path = Field(default_factory=_default_data_dir)
    # PostgreSQL (or any SQLAlchemy URL); unset means SQLite in the data directory.
    database_url: str | None = None
    # Apply pending migrations when a command opens the store.
    auto_migrate: bool = True
    # Our API's own limits ("requests/seconds"); "off" disables one (benchmarks do).
    account_rate_limit: str = "50/10"
    token_rate_limit: str = "500/10"
    # Let base URLs and webhook URLs point at loopback or private networks (tests, demos).
    allow_private_urls: bool = False

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'unimeter.db'}"
