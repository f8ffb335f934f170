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
    # How long an SQLite write waits for another process's write to finish before it fails
    # with "database is locked".
    sqlite_busy_timeout_ms: int = Field(default=60_000, ge=0)
    # PostgreSQL connections one process may hold: its pool, the overflow above it, and the
    # job queue's own pool (workers). A worker at its peak holds all three; PostgreSQL's
    # max_connections (100 by default) bounds the fleet (docs/scaling.md).
    database_pool_size: int = Field(default=10, ge=1, le=500)
    database_max_overflow: int = Field(default=10, ge=0, le=500)
    queue_pool_size: int = Field(default=4, ge=1, le=100)
    # Apply pending migrations when a command opens the store.
    auto_migrate: bool = True
    # Our API's own limits ("requests/seconds"); "off" disables one (benchmarks do).
    account_rate_limit: str = "50/10"
    token_rate_limit: str = "500/10"
    # Request size limits (413, 414, 431 with the error envelope). Uploads of a directory
    # have their own (analytics.routes.MAX_DIRECTORY_BYTES).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_url_bytes: int = Field(default=16 * 1024, ge=1024, le=512 * 1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=512 * 1024)
    # Let base URLs and webhook URLs point at loopback or private networks (tests, demos).
    allow_private_urls: bool = False
    # Let webhook URLs point at loopback or private networks (tests, demos).
    allow_private_webhooks: bool = False

    # How long a dashboard sign-in lasts before the token must be pasted again.
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    # Schedules. Wall-clock length of one scheduling "minute": tests and the demo compress
    # cadences with it, exactly as the simulator compresses Cursor's rate-limit minute.
    schedule_minute_seconds: float = Field(default=60.0, gt=0)
    # How often the scheduler looks for due syncs (whole seconds that divide 60).
    scheduler_tick_seconds: int = Field(default=15, ge=1, le=60)

    # Workers (scale-out on PostgreSQL): procrastinate's liveness settings. A worker that
    # misses heartbeats for ``stalled_worker_seconds`` is presumed dead and its job retried.
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0)
    stalled_worker_seconds: float = Field(default=60.0, gt=0)
    # How long a sync's account lock survives without a heartbeat from its holder.
    sync_lease_seconds: float = Field(default=120.0, gt=0)

    # Webhooks: send deliveries from this process; attempts before a delivery fails and
    # its webhook is disabled; backoff between attempts (base * 4**n, capped).
    webhook_dispatcher: bool = True
    webhook_max_attempts: int = Field(default=10, ge=1, le=50)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_seconds: float = Field(default=1.0, gt=0)

    # Notifications (Slack, e-mail): sent by the same processes as webhooks (and switched
    # off with them); attempts before a delivery fails; backoff (base * 4**n, capped).
    notification_max_attempts: int = Field(default=8, ge=1, le=50)
    notification_retry_base_seconds: float = Field(default=30.0, gt=0)
    notification_retry_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    notification_timeout_seconds: float = Field(default=15.0, gt=0)
    # The weekly digest: queued once the week's day and hour (UTC) have passed; Monday is 0.
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_hour: int = Field(default=8, ge=0, le=23)
    # How often the embedded digest scheduler looks whether a digest is due.
    digest_check_seconds: float = Field(default=300.0, gt=0)

    @property
    def schedule_minute_ms(self) -> int:
        return max(1, round(self.schedule_minute_seconds * 1000))

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'unimeter.db'}"
