"""The sync engine: one run of one account, stream by stream, window by window.

Guarantees (each has a test):
- a stream's watermark advances only after the window's rows are committed, so a run
  killed at any point resumes with no gap, and re-reading is harmless (idempotent writes);
- one run per account at a time (a lease in the database, taken over when its holder died);
- memory stays flat: pages stream into batched writes, nothing holds a whole window.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.errors import SourceAuthError, StreamUnavailableError
from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import (
    ActivityCountRecord,
    ActorRecord,
    AgentRunRecord,
    AiChangeRecord,
    AuditEventRecord,
    CommitRecord,
    DailyUsageRecord,
    GroupsRecord,
    MemberRecord,
    SpendSnapshotRecord,
    UsageEventRecord,
)
from unimeter.connectors.source import (
    Record,
    RememberingSource,
    Source,
    StreamSpec,
    Window,
)
from unimeter.connectors.windows import (
    DAY_MS,
    MAX_BACKFILL_DAYS,
    day_floor,
    incremental_start,
    plan_windows,
)
from unimeter.db.base import now_ms
from unimeter.db.engine import Database
from unimeter.sync.engine.batching import write_units
from unimeter.sync.engine.capabilities import RECHECK_UNAVAILABLE_MS
from unimeter.sync.engine.report import (
    Progress,
    StreamStats,
    SyncAuthError,
    SyncOptions,
    SyncReport,
    copy_counters,
    from_counters,
    one_line,
    with_live_counters,
)
from unimeter.sync.engine.runs import RunTracker
from unimeter.sync.hooks import SyncHooks
from unimeter.sync.store import (
    actors_repository,
    attribution,
    billing_repository,
    code_repository,
    facts_repository,
    members_repository,
    rollups_repository,
    usage_repository,
)
from unimeter.sync.store import state_repository as repository
from unimeter.sync.store.counts import Counts
from unimeter.tenancy import repository as tenancy

log = logging.getLogger("unimeter.sync")

SETTLE_EVERY_MS = DAY_MS


class SyncEngine:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], int] = now_ms,
        lease_ms: int = 120_000,
        heartbeat_seconds: float = 10.0,
        hooks: SyncHooks | None = None,
    ) -> None:
        self.db = db
        # No hooks: a sync that touches nothing but its store (a live read, a test).
        self.hooks = hooks or SyncHooks()
        self.clock = clock
        self.lease_ms = lease_ms
        self.heartbeat_seconds = heartbeat_seconds
        # Email -> member id per account, read once per run after the members stream.
        self._member_ids: dict[str, dict[str, int]] = {}

    async def sync(
        self,
        account_id: str,
        source: Source,
        options: SyncOptions | None = None,
        *,
        run_id: str | None = None,
        progress: Progress | None = None,
    ) -> SyncReport:
        options = options or SyncOptions()
        runs = RunTracker(
            self.db, self.hooks, lease_ms=self.lease_ms, heartbeat_seconds=self.heartbeat_seconds
        )
        run_id = await runs.open(account_id, options, run_id)
        await runs.lock(account_id, run_id, wait=options.wait_for_lock)
        report = SyncReport(run_id, account_id, "running", {}, 0.0, trigger=options.trigger)
        heartbeat = asyncio.create_task(
            runs.keep_alive(account_id, run_id, lambda: with_live_counters(report, source))
        )
        started = time.perf_counter()
        try:
            await self._run_streams(account_id, source, options, report, progress)
            async with self.db.session() as session:
                outcome, changed_days = await attribution.finalize(session, account_id)
                await rollups_repository.mark_dirty(session, account_id, changed_days)
                await members_repository.refresh_last_activity(session, account_id)
                await tenancy.bump_data_version(session, account_id)
            report.attribution = asdict(outcome)
            report.attribution["rollup_rows"] = await self._refresh_rollups(account_id)
            report.status = "succeeded"
        except SourceAuthError as exc:
            report.status, report.error = "failed", str(exc)
            await runs.needs_reauth(account_id, str(exc))
            raise SyncAuthError(str(exc)) from exc
        except Exception as exc:
            report.status, report.error = "failed", one_line(exc)
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            report.seconds = time.perf_counter() - started
            await runs.close(account_id, report)
        return report

    async def _refresh_rollups(self, account_id: str) -> int:
        """Rebuild the rollups of every day marked dirty (by this run or one that died)."""
        async with self.db.reader() as session:
            days = await rollups_repository.dirty_days(session, account_id)
        written = 0
        for start in range(0, len(days), rollups_repository.DAYS_PER_BATCH):
            batch = days[start : start + rollups_repository.DAYS_PER_BATCH]
            async with self.db.session() as session:
                written += await rollups_repository.refresh(session, account_id, batch)
                await rollups_repository.clear_dirty(session, account_id, batch)
                await self.hooks.store_records(session, account_id, batch)
                await tenancy.bump_data_version(session, account_id)
        if not days:
            async with self.db.session() as session:
                await self.hooks.store_records(session, account_id, [])
        return written

    # -- streams ----------------------------------------------------------------------------

    async def _run_streams(
        self,
        account_id: str,
        source: Source,
        options: SyncOptions,
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        wanted = [s for s in source.streams if options.streams is None or s.name in options.streams]
        for spec in wanted:
            report.streams[spec.name] = StreamStats()
        # Members first: they are what lets every other stream attribute rows to people.
        first = [s for s in wanted if s.name == "members"]
        rest = [s for s in wanted if s.name != "members"]
        floor = await self._floor(account_id, source, options, rest, report)
        for spec in first:
            await self._stream(account_id, source, spec, options, floor, report, progress)
        async with self.db.reader() as session:
            self._member_ids[account_id] = await members_repository.member_ids_by_email(
                session, account_id
            )
        await _all_or_none(
            [self._stream(account_id, source, s, options, floor, report, progress) for s in rest]
        )

    async def _floor(
        self,
        account_id: str,
        source: Source,
        options: SyncOptions,
        specs: list[StreamSpec],
        report: SyncReport,
    ) -> int | None:
        """How far back a first backfill goes: ``--since``, else the oldest data Cursor has."""
        if options.since_ms is not None or not any(s.windowed for s in specs):
            return None
        async with self.db.reader() as session:
            states = await repository.all_states(session, account_id)
        floors = [s.floor_ms for s in states.values() if s.floor_ms is not None]
        if floors:
            return min(floors)
        now = self.clock()
        started = time.perf_counter()
        try:
            found = await source.probe_floor(now, MAX_BACKFILL_DAYS)
        except StreamUnavailableError as exc:
            # The probe's stream is gated: where data starts is unknown, so go back as far
            # as any vendor keeps it (the empty windows cost a request each).
            log.info("cannot find the oldest data of %s: %s", account_id, exc)
            return day_floor(now - MAX_BACKFILL_DAYS * DAY_MS)
        finally:
            report.streams["probe"] = from_counters(source.counters("probe"), started)
        return day_floor(now) if found is None else found

    async def _stream(
        self,
        account_id: str,
        source: Source,
        spec: StreamSpec,
        options: SyncOptions,
        floor: int | None,
        report: SyncReport,
        progress: Progress | None,
    ) -> None:
        stats = report.streams[spec.name]
        started = time.perf_counter()
        try:
            if await self._known_unavailable(account_id, spec, options, stats):
                return
            if spec.windowed:
                await self._windowed(account_id, source, spec, options, floor, stats, progress)
            else:
                await self._snapshot(account_id, source, spec, report.run_id, stats, progress)
            await self._record_availability(account_id, spec, stats, None)
        except StreamUnavailableError as exc:
            if spec.required:
                raise
            log.warning("account %s: stream %s is unavailable: %s", account_id, spec.name, exc)
            await self._record_availability(account_id, spec, stats, str(exc))
        finally:
            copy_counters(source.counters(spec.name), stats)
            stats.seconds = time.perf_counter() - started
            if progress:
                progress(spec.name, stats)

    async def _known_unavailable(
        self, account_id: str, spec: StreamSpec, options: SyncOptions, stats: StreamStats
    ) -> bool:
        """Whether the stream was refused less than a day ago: then it is not asked again
        (it would cost a request and fail the same way), unless a run asks for it by name."""
        if spec.required or (options.streams is not None and spec.name in options.streams):
            return False
        async with self.db.reader() as session:
            state = await repository.get_state(session, account_id, spec.name)
        if state.availability != "unavailable" or state.checked_at is None:
            return False
        if self.clock() - state.checked_at >= RECHECK_UNAVAILABLE_MS:
            return False
        stats.status, stats.unavailable_reason = "unavailable", state.unavailable_reason
        return True

    async def _record_availability(
        self, account_id: str, spec: StreamSpec, stats: StreamStats, reason: str | None
    ) -> None:
        if reason is not None:
            stats.status, stats.unavailable_reason = "unavailable", reason
        values = {
            "availability": "available" if reason is None else "unavailable",
            "unavailable_reason": reason,
            "checked_at": self.clock(),
        }
        await self._save_state(account_id, spec.name, **values)

    async def _snapshot(
        self,
        account_id: str,
        source: Source,
        spec: StreamSpec,
        run_id: str,
        stats: StreamStats,
        progress: Progress | None,
    ) -> None:
        stats.windows = 1
        present: set[str] = set()
        await self._restore(account_id, source, spec.name)
        async for batch in source.fetch(spec.name, None):
            present.update(r.remote_id for r in batch if isinstance(r, MemberRecord))
            stats.count(await self._write_batch(account_id, run_id, batch))
            if progress:
                progress(spec.name, stats)
        # An empty list is a vendor fault, not an organization without members (the admin
        # whose key this is belongs to it): it removes nobody.
        if spec.absent_means_removed and present:
            stats.count(await self._remove_absent(account_id, present))
        await self._save_state(
            account_id, spec.name, watermark_ms=self.clock(), **_memory(source, spec.name)
        )
        stats.windows_done = 1

    async def _restore(self, account_id: str, source: Source, stream: str) -> None:
        if isinstance(source, RememberingSource):
            async with self.db.reader() as session:
                state = await repository.get_state(session, account_id, stream)
            source.restore(stream, dict(state.memory or {}))

    async def _remove_absent(self, account_id: str, present: set[str]) -> Counts:
        async def write(session: AsyncSession) -> Counts:
            counts = await members_repository.mark_absent_removed(session, account_id, present)
            if counts.updated:
                await tenancy.bump_data_version(session, account_id)
            return counts

        return await self.db.write(write)

    async def _windowed(
        self,
        account_id: str,
        source: Source,
        spec: StreamSpec,
        options: SyncOptions,
        floor: int | None,
        stats: StreamStats,
        progress: Progress | None,
    ) -> None:
        now = self.clock()
        async with self.db.reader() as session:
            state = await repository.get_state(session, account_id, spec.name)
        settling = spec.settle_days > 0 and (
            state.settled_at is None or now - state.settled_at >= SETTLE_EVERY_MS
        )
        lookback = options.lookback_days.get(spec.name, spec.lookback_days)
        if settling and state.watermark_ms is not None:
            lookback = max(lookback, spec.settle_days)
        start = incremental_start(
            watermark_ms=state.watermark_ms,
            floor_ms=state.floor_ms or floor,
            lookback_days=lookback,
            since_ms=options.since_ms,
            full=options.full,
        )
        start = day_floor(now) if start is None else start
        end = now if options.until_ms is None else min(now, options.until_ms)
        windows = plan_windows(start, end, spec.max_window_days)
        stats.windows = len(windows)
        if state.floor_ms is None and floor is not None:
            await self._save_state(account_id, spec.name, floor_ms=floor)
        if isinstance(source, RememberingSource):
            source.restore(spec.name, dict(state.memory or {}))
        for window in windows:
            await self._window(account_id, source, spec, window, stats, progress)
        if settling:
            await self._save_state(account_id, spec.name, settled_at=now)

    async def _window(
        self,
        account_id: str,
        source: Source,
        spec: StreamSpec,
        window: Window,
        stats: StreamStats,
        progress: Progress | None,
    ) -> None:
        async with write_units(source.fetch(spec.name, window), bulk=spec.bulk) as units:
            async for batch in units:
                stats.count(await self._write_batch(account_id, None, batch))
                if progress:
                    progress(spec.name, stats)

        # Only now is the whole window committed, so only now may the watermark pass it.
        memory = _memory(source, spec.name)

        async def advance(session: AsyncSession) -> None:
            state = await repository.get_state(session, account_id, spec.name)
            if state.watermark_ms is None or window.end_ms > state.watermark_ms:
                await repository.save_state(
                    session, account_id, spec.name, watermark_ms=window.end_ms, **memory
                )
            elif memory:
                await repository.save_state(session, account_id, spec.name, **memory)

        await self.db.write(advance)
        stats.windows_done += 1
        if progress:
            progress(spec.name, stats)

    # Streams are cancelled when another one fails: their writes go through ``db.write``,
    # which a cancellation cannot cut in half (see db/engine.py).

    async def _save_state(self, account_id: str, stream: str, **values: Any) -> None:
        async def save(session: AsyncSession) -> None:
            await repository.save_state(session, account_id, stream, **values)

        await self.db.write(save)

    async def _write_batch(
        self, account_id: str, run_id: str | None, batch: list[Record]
    ) -> Counts:
        async def write(session: AsyncSession) -> Counts:
            return await self._write(session, account_id, run_id, batch)

        return await self.db.write(write)

    async def _write(
        self, session: Any, account_id: str, run_id: str | None, batch: list[Record]
    ) -> Counts:
        counts = await self._write_records(session, account_id, run_id, batch)
        if counts.inserted or counts.updated:
            await tenancy.bump_data_version(session, account_id)
        return counts

    async def _write_records(
        self, session: Any, account_id: str, run_id: str | None, batch: list[Record]
    ) -> Counts:
        """Write one batch in the caller's transaction. A batch may mix record types (a
        vendor's raw rows with the usage facts mapped from them): each type is written by
        its repository, in the order the types first appear."""
        counts = Counts()
        by_type: dict[type, list[Any]] = {}
        for record in batch:
            by_type.setdefault(type(record), []).append(record)
        for records in by_type.values():
            counts.add(await self._write_typed(session, account_id, run_id, records))
        return counts

    async def _write_typed(
        self, session: Any, account_id: str, run_id: str | None, batch: list[Any]
    ) -> Counts:
        counts = Counts()
        first = batch[0]
        if isinstance(first, MemberRecord):
            return await members_repository.upsert_members(session, account_id, batch)
        if isinstance(first, UsageFactRecord):
            return await facts_repository.write_facts(session, account_id, batch)
        if isinstance(first, ActorRecord):
            return await actors_repository.upsert_actors(session, account_id, batch)
        if isinstance(first, CommitRecord | AiChangeRecord | AgentRunRecord):
            return await code_repository.upsert_keyed(session, account_id, batch)
        if isinstance(first, ActivityCountRecord):
            return await code_repository.upsert_activity_counts(session, account_id, batch)
        if isinstance(first, SpendSnapshotRecord):
            for snapshot in batch:
                counts.add(
                    await billing_repository.insert_spend_snapshot(
                        session, account_id, run_id, snapshot
                    )
                )
            return counts
        if isinstance(first, GroupsRecord):
            for groups in batch:
                counts.add(await billing_repository.upsert_groups(session, account_id, groups))
            return counts
        if isinstance(first, AuditEventRecord):
            return await billing_repository.insert_audit_events(session, account_id, batch)
        member_ids = self._member_ids.get(account_id)
        if member_ids is None:
            member_ids = await members_repository.member_ids_by_email(session, account_id)
        if isinstance(first, DailyUsageRecord):
            return await usage_repository.upsert_daily_usage(session, account_id, batch, member_ids)
        events: list[UsageEventRecord] = batch
        counts = await usage_repository.upsert_usage_events(session, account_id, events, member_ids)
        if counts.inserted or counts.updated:
            await rollups_repository.mark_dirty(session, account_id, _days_of(events))
        return counts


def _memory(source: Source, stream: str) -> dict[str, Any]:
    """The ``memory`` column's new value, when the source keeps one (else nothing to save)."""
    if isinstance(source, RememberingSource):
        return {"memory": source.memory(stream)}
    return {}


async def _all_or_none(coroutines: list[Coroutine[Any, Any, None]]) -> None:
    """Run concurrently; the first failure cancels the others (a stream still writing after
    its run closed and released the account's lock could overlap the next run), then is
    raised as itself."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _days_of(events: list[UsageEventRecord]) -> set[dt.date]:
    return {
        dt.datetime.fromtimestamp(day * DAY_MS / 1000, tz=dt.UTC).date()
        for day in {e.timestamp_ms // DAY_MS for e in events}
    }
