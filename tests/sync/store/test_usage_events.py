"""Usage events written in bulk: an event repeated within one write (a listing read again
after it shifted, in the same unit as its first read) is compared with itself as stored."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import func, select

from tests.support.world import world
from unimeter.connectors.records import UsageEventRecord
from unimeter.db.models import UsageEvent, UsageEventRevision
from unimeter.sync.store import usage_repository

TS = 1_781_000_000_000


def _event(fingerprint: str, charged: int, email: str = "a@x.io") -> UsageEventRecord:
    return UsageEventRecord(
        fingerprint=fingerprint, timestamp_ms=TS, product="cursor", email=email, model="m",
        kind="Included", charge_type="included", surface="ide", max_mode=False,
        is_token_based=True, is_chargeable=False, is_headless=False, input_tokens=1,
        output_tokens=2, cache_write_tokens=0, cache_read_tokens=0, token_cents_e6=charged,
        token_fee_cents_e6=None, charged_cents_e6=charged, request_units_e6=0,
        conversation_id=None, cloud_agent_id=None, service_account_id=None, automation_id=None,
    )  # fmt: skip


async def test_a_repeat_in_one_write_is_an_update_with_its_revision(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        # More rows than a chunk holds: the repeat falls past the first chunk's start and
        # inside a chunk, and the batch spans chunks.
        size = usage_repository.EVENT_CHUNK + 100
        first = [_event(f"fp{i}", 10) for i in range(size)]
        batch = [*first[:300], dataclasses.replace(first[5], charged_cents_e6=99), *first[300:]]
        async with w.runtime.db.session() as session:
            counts = await usage_repository.upsert_usage_events(session, account_id, batch, {})
        assert (counts.inserted, counts.updated, counts.unchanged) == (size, 1, 0)

        async with w.runtime.db.session() as session:
            again = await usage_repository.upsert_usage_events(session, account_id, batch, {})
        # The stored row holds the last version: the first copy differs, the rest match.
        assert (again.inserted, again.updated, again.unchanged) == (0, 2, size - 1)

        async with w.runtime.db.reader() as session:
            stored = await session.scalar(
                select(func.count())
                .select_from(UsageEvent)
                .where(UsageEvent.account_id == account_id)
            )
            revisions = await session.scalar(select(func.count()).select_from(UsageEventRevision))
        assert stored == size
        assert revisions == 3  # every replaced cost is kept
