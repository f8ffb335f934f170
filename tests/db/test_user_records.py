"""Members keep their unified user record (``unimeter.db.user_records``): every write that
changes what it shows renders it again, a page serves it as stored, and a member without
one is rendered from its row with the same bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from sqlalchemy import select, update

from tests.support.api import api_world
from tests.support.world import world
from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import MemberRecord, SpendMemberRecord, SpendSnapshotRecord
from unimeter.db import user_records
from unimeter.db.migrate import alembic_config, current_revision, upgrade
from unimeter.db.models import Member
from unimeter.runtime import Runtime
from unimeter.sync.engine.report import SyncOptions
from unimeter.sync.service import sync_account
from unimeter.sync.store import billing_repository, facts_repository, members_repository

_M = Member.__table__.c


async def _stored_and_fresh(runtime: Runtime, account_id: str) -> dict[str, tuple[Any, bytes]]:
    """Each member's stored record and the record its row renders now, by email."""
    async with runtime.db.reader() as session:
        rows = (
            await session.execute(
                select(*user_records.COLUMNS, _M.record).where(_M.account_id == account_id)
            )
        ).all()
    return {row.email: (row.record, user_records.render(row)) for row in rows}


def _stale(records: dict[str, tuple[Any, bytes]]) -> list[str]:
    return [email for email, (stored, fresh) in records.items() if stored != fresh.decode()]


async def test_every_sync_write_keeps_the_stored_records_current(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        first = await _stored_and_fresh(w.runtime, account_id)
        assert len(first) == 25 and not _stale(first)
        shown = {e: orjson.loads(stored) for e, (stored, _) in first.items()}
        assert any(r["last_active_at"] for r in shown.values()), "activity is rendered"
        assert any(r["spend_limit"] for r in shown.values()), "spend limits are rendered"
        # The vendor changes a limit and removes someone; the next sync writes both.
        team = w.sim.team(w.sim.keys[0])
        active = [m for m in team.members if not team.is_removed(m, team.now_ms())]
        limited, leaver = active[0], next(m for m in active[1:] if m.role == "member")
        team.set_spend_limit(limited, 1234)
        team.remove_member(leaver)
        w.sim.clock.advance(hours=2)
        await sync_account(w.runtime, account_id, SyncOptions(full=True))
        second = await _stored_and_fresh(w.runtime, account_id)
        assert not _stale(second)
        after = {e: orjson.loads(stored) for e, (stored, _) in second.items()}
        assert after[limited.email]["spend_limit"] == {"amount": 123400, "currency": "USD"}
        assert after[leaver.email]["status"] == "deleted"
        assert shown[leaver.email]["status"] == "active"


def _member(remote_id: str, role: str) -> MemberRecord:
    return MemberRecord(
        remote_id=remote_id, email=f"{remote_id}@x.io", name=f"{remote_id.upper()} Doe",
        role=role, is_removed=False, raw={"id": remote_id},
    )  # fmt: skip


def _limit(email: str, dollars: int) -> SpendSnapshotRecord:
    member = SpendMemberRecord(
        remote_id=None, email=email, name=None, role=None, on_demand_cents_e6=0,
        overall_cents_e6=0, premium_requests=0, hard_limit_override_dollars=None,
        monthly_limit_dollars=dollars, effective_limit_dollars=dollars,
    )  # fmt: skip
    return SpendSnapshotRecord(cycle_start_ms=None, total_members=1, members=[member])


async def test_each_member_write_renders_their_records_in_its_transaction(
    database_url: str, data_dir: Path
) -> None:
    """Each write alone, committed alone: a reader between two sync steps sees current
    records (a refresh only at the end of a sync would leave them stale in between)."""
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db

        async def shown() -> dict[str, Any]:
            records = await _stored_and_fresh(w.runtime, account_id)
            assert not _stale(records)
            return {email: orjson.loads(stored) for email, (stored, _) in records.items()}

        async with db.session() as session:
            await members_repository.upsert_members(
                session, account_id, [_member("u1", "member"), _member("u2", "admin")]
            )
        assert (await shown())["u1@x.io"]["roles"] == [{"id": "member", "name": "Member"}]
        async with db.session() as session:
            await members_repository.upsert_members(session, account_id, [_member("u1", "owner")])
        assert (await shown())["u1@x.io"]["roles"] == [{"id": "owner", "name": "Owner"}]
        async with db.session() as session:
            await members_repository.mark_absent_removed(session, account_id, {"u1"})
        assert (await shown())["u2@x.io"]["status"] == "deleted"
        async with db.session() as session:
            await billing_repository.insert_spend_snapshot(
                session, account_id, None, _limit("u1@x.io", 75)
            )
        assert (await shown())["u1@x.io"]["spend_limit"] == {"amount": 7500, "currency": "USD"}
        fact = UsageFactRecord(
            day=dt.date(2026, 6, 1), product="cursor", user_email="u1@x.io",
            is_day_total=False, model="m", metrics={"requests": 3},
        )  # fmt: skip
        async with db.session() as session:
            await facts_repository.write_facts(session, account_id, [fact])
            await members_repository.refresh_last_activity(session, account_id)
        assert (await shown())["u1@x.io"]["last_active_at"] == "2026-06-01T00:00:00Z"


def test_the_organization_goes_before_the_spend_limit_whatever_the_strings_hold() -> None:
    tricky = ',"spend_limit":{"x":1}'
    row = _Row(name=f"A {tricky}", raw=orjson.dumps({"spend_limit": tricky}).decode())
    stored = user_records.render(row)
    placed = user_records.with_organization(stored.decode(), '{"id":"acc_1","name":"Acme"}')
    record = orjson.loads(placed)
    assert list(record)[6:9] == ["status", "organization", "spend_limit"]
    assert record["organization"] == {"id": "acc_1", "name": "Acme"}
    assert record["last_name"] == tricky and record["remote_data"] == {"spend_limit": tricky}
    assert record == {**orjson.loads(stored), "organization": record["organization"]}


class _Row:
    def __init__(self, name: str, raw: str) -> None:
        self.remote_id, self.email, self.name, self.role = "u1", "a@x.io", name, "member"
        self.is_removed, self.first_seen_at, self.updated_at = False, 1_000, 2_000
        self.last_activity_at, self.last_active_day, self.spend_limit_dollars = None, None, 5
        self.raw = raw


async def test_a_member_without_a_stored_record_reads_the_same(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        account = api.accounts["default"]
        page = await api.get("/unified/usage-metering/users", integrated_account_id=account)
        one_id = page.json()["result"][3]["id"]
        single = await api.get(
            f"/unified/usage-metering/users/{one_id}", integrated_account_id=account
        )
        async with api.world.runtime.db.session() as session:
            cleared = await session.execute(
                update(Member).where(Member.account_id == account).values(record=None)
            )
            assert cleared.rowcount > 3  # type: ignore[attr-defined]
        again = await api.get("/unified/usage-metering/users", integrated_account_id=account)
        assert again.content == page.content
        single_again = await api.get(
            f"/unified/usage-metering/users/{one_id}", integrated_account_id=account
        )
        assert single_again.content == single.content


async def test_the_migration_renders_the_records_a_sync_renders(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir) as api:
        runtime = api.world.runtime
        synced = await _stored_and_fresh(runtime, api.accounts["default"])
        assert len(synced) > 10 and not _stale(synced)
        await runtime.db.dispose()  # no pooled connection holds the table during the DDL
        command.downgrade(alembic_config(database_url), "0019")
        assert current_revision(database_url) == "0019"
        upgrade(database_url)
        assert await _stored_and_fresh(runtime, api.accounts["default"]) == synced
