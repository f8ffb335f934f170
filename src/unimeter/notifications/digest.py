"""The weekly digest: when it is due, and queueing it once per channel and week.

The figures come from a builder the composition root passes in (``analytics/digest.py``):
analytics is a domain above this service. A week runs Monday to Sunday (UTC); the digest of
the week just ended is due from ``digest_weekday`` at ``digest_hour`` of the next one. Both
the embedded scheduler (:class:`DigestScheduler`) and the workers' periodic task
(:func:`register_digest_task`) call :func:`queue_due`; the ``(channel, week)`` key makes
whichever comes first the only one that queues.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import procrastinate

from unimeter.db.models import NotificationChannel
from unimeter.runtime import Runtime

from . import repository, service

log = logging.getLogger("unimeter.notifications")

DigestBuilder = Callable[[Runtime, str, dt.date, dt.date], Awaitable[dict[str, Any]]]
DIGEST_TASK = "unimeter.notification_digest"
# Workers look every ten minutes; an hour's delay at most would be fine too.
DIGEST_CRON = "*/10 * * * *"


@dataclass(frozen=True, slots=True)
class Week:
    start: dt.date  # a Monday

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=7)

    @property
    def key(self) -> str:
        year, week, _ = self.start.isocalendar()
        return f"digest:{year}-W{week:02d}"

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2026-W49`` → that ISO week; ValueError otherwise."""
        try:
            start = dt.datetime.strptime(text.strip() + "-1", "%G-W%V-%u").date()
        except ValueError:
            raise ValueError(f"not an ISO week (YYYY-Www): {text!r}") from None
        return cls(start)


def last_week(today: dt.date) -> Week:
    """The last whole week before ``today``'s."""
    return Week(today - dt.timedelta(days=today.weekday() + 7))


def due_week(now_ms: int, weekday: int, hour: int) -> Week | None:
    """The week whose digest is due at ``now_ms``; None before this week's digest time."""
    now = dt.datetime.fromtimestamp(now_ms / 1000, tz=dt.UTC)
    monday = now.date() - dt.timedelta(days=now.weekday())
    due_at = dt.datetime.combine(monday + dt.timedelta(days=weekday), dt.time(hour), dt.UTC)
    return last_week(now.date()) if now >= due_at else None


async def digest_channels(
    runtime: Runtime, environment_id: str | None = None
) -> list[NotificationChannel]:
    async with runtime.db.reader() as session:
        channels = await repository.active_channels(session, environment_id)
    return [c for c in channels if service.subscribed(c, "digest")]


async def queue_week(
    runtime: Runtime, build: DigestBuilder, week: Week, environment_id: str | None = None
) -> int:
    """Queue ``week``'s digest to every subscribed channel (of one environment, or all) that
    does not have it yet; how many were queued. Figures are built only when one is missing."""
    channels = await digest_channels(runtime, environment_id)
    async with runtime.db.reader() as session:
        taken = await repository.keys_taken(session, week.key)
    waiting: dict[str, list[NotificationChannel]] = defaultdict(list)
    for channel in channels:
        if channel.id not in taken:
            waiting[channel.environment_id].append(channel)
    queued = 0
    for env, targets in waiting.items():
        digest = await build(runtime, env, week.start, week.end)
        queued += await service.queue_digest(runtime, targets, digest, dedupe_key=week.key)
    if queued:
        log.info("queued the digest of %s to %d channel(s)", week.key, queued)
    return queued


async def queue_due(runtime: Runtime, build: DigestBuilder) -> int:
    settings = runtime.settings
    week = due_week(runtime.clock(), settings.digest_weekday, settings.digest_hour)
    return 0 if week is None else await queue_week(runtime, build, week)


class DigestScheduler:
    """The embedded mode's weekly digest: looks every ``digest_check_seconds``."""

    def __init__(self, runtime: Runtime, build: DigestBuilder) -> None:
        self.runtime = runtime
        self.build = build

    async def run_forever(self) -> None:
        while True:
            try:
                await queue_due(self.runtime, self.build)
            except Exception:  # a failed build must not end the weekly digest for good
                log.exception("queueing the weekly digest failed; trying again later")
            await asyncio.sleep(self.runtime.settings.digest_check_seconds)


def register_digest_task(app: procrastinate.App, runtime: Runtime, build: DigestBuilder) -> None:
    """The workers' weekly digest: a periodic task deferred once per tick however many
    workers run (procrastinate's periodic defer and the queueing lock)."""

    @app.periodic(cron=DIGEST_CRON, periodic_id="digest")
    @app.task(name=DIGEST_TASK, queueing_lock=DIGEST_TASK, priority=5)
    async def digest_tick(timestamp: int) -> None:
        await queue_due(runtime, build)
