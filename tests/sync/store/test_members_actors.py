"""Members' events and absences, actors, and the vendor rows kept on facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.support.world import world
from unimeter.connectors.facts import UsageFactRecord
from unimeter.connectors.records import ActorRecord, MemberRecord
from unimeter.db.models import Actor, Member, MemberEvent, UsageFact
from unimeter.sync.store import actors_repository, facts_repository, members_repository


def _member(remote_id: str, role: str, joined: int | None = None) -> MemberRecord:
    return MemberRecord(
        remote_id=remote_id, email=f"{remote_id}@x.io", name=None, role=role, is_removed=False,
        joined_at_ms=joined,
    )  # fmt: skip


async def _events(db: Any, account_id: str) -> list[tuple[str, str, int, Any, Any]]:
    async with db.reader() as session:
        rows = await session.execute(
            select(Member.remote_id, MemberEvent.kind, MemberEvent.at, MemberEvent.role_before,
                   MemberEvent.role_after)
            .join(Member, Member.id == MemberEvent.member_id)
            .where(MemberEvent.account_id == account_id)
            .order_by(MemberEvent.id)
        )  # fmt: skip
        return [tuple(r) for r in rows.all()]


async def test_member_changes_are_kept_as_events(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        async with db.session() as session:
            await members_repository.upsert_members(
                session, account_id, [_member("u1", "user", joined=1_000), _member("u2", "admin")]
            )
        async with db.session() as session:
            again = await members_repository.upsert_members(
                session, account_id, [_member("u1", "developer", joined=1_000),
                                      _member("u2", "admin")],
            )  # fmt: skip
        assert (again.updated, again.unchanged) == (1, 1)
        # u2 is left out of a complete snapshot: removed, not deleted.
        async with db.session() as session:
            gone = await members_repository.mark_absent_removed(session, account_id, {"u1"})
        assert gone.updated == 1
        events = await _events(db, account_id)
        assert [(e[0], e[1]) for e in events] == [
            ("u1", "added"), ("u2", "added"), ("u1", "role_changed"), ("u2", "removed"),
        ]  # fmt: skip
        assert events[0][2] == 1_000  # the vendor's join time, not the sync's
        assert events[2][3:] == ("user", "developer")
        async with db.reader() as session:
            u2 = await session.scalar(select(Member).where(Member.remote_id == "u2"))
            u1 = await session.scalar(select(Member).where(Member.remote_id == "u1"))
        assert u2 is not None and u2.is_removed and u2.removal_source == "observed"
        assert u1 is not None and u1.joined_at == 1_000 and not u1.is_removed
        # Coming back restores them.
        async with db.session() as session:
            await members_repository.upsert_members(session, account_id, [_member("u2", "admin")])
        assert (await _events(db, account_id))[-1][:2] == ("u2", "restored")


async def test_actors_are_upserted_and_labelled(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        key = ActorRecord(remote_id="k1", kind="api_key", name="ci", status="active")
        async with db.session() as session:
            first = await actors_repository.upsert_actors(session, account_id, [key])
        async with db.session() as session:
            same = await actors_repository.upsert_actors(session, account_id, [key])
        renamed = ActorRecord(remote_id="k1", kind="api_key", name="ci-2", status="archived")
        async with db.session() as session:
            changed = await actors_repository.upsert_actors(session, account_id, [renamed])
        assert (first.inserted, same.unchanged, changed.updated) == (1, 1, 1)
        async with db.reader() as session:
            labels = await actors_repository.actor_labels(session, [account_id], ["k1", "nope"])
            count = len((await session.scalars(select(Actor))).all())
        assert labels == {(account_id, "k1"): ("api_key", "ci-2")} and count == 1


async def test_fact_sources_are_kept_and_compared(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        db = w.runtime.db
        day = dt.date(2026, 6, 1)

        def fact(rows: list[dict[str, Any]]) -> UsageFactRecord:
            return UsageFactRecord(
                day=day, product="toy", user_email="a@x.io", is_day_total=True,
                metrics={"sessions": 1}, sources=rows,
            )  # fmt: skip

        # Two rows of one key in a batch: metrics summed, both rows kept.
        batch = [fact([{"terminal": "a", "n": 1}]), fact([{"terminal": "b", "n": 2.5}])]
        async with db.session() as session:
            first = await facts_repository.write_facts(session, account_id, batch)
        async with db.session() as session:
            again = await facts_repository.write_facts(session, account_id, batch)
        async with db.session() as session:
            revised = await facts_repository.write_facts(
                session, account_id, [fact([{"terminal": "a", "n": 3}]), batch[1]]
            )
        assert (first.inserted, again.unchanged, revised.updated) == (1, 1, 1)
        async with db.reader() as session:
            stored = await session.scalar(select(UsageFact))
        assert stored is not None and stored.sessions == 2
        assert stored.sources == [{"terminal": "a", "n": 3}, {"terminal": "b", "n": 2.5}]
