"""SQL for actors: the API keys and service accounts usage is attributed to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.connectors.records import ActorRecord
from unimeter.db.base import now_ms
from unimeter.db.models import Actor
from unimeter.sync.store.counts import Counts


async def upsert_actors(
    session: AsyncSession, account_id: str, records: Sequence[ActorRecord]
) -> Counts:
    """Insert new actors, update changed ones; an actor the vendor stops listing is kept
    (its past usage still needs its label)."""
    counts = Counts()
    now = now_ms()
    stored = {
        a.remote_id: a
        for a in (await session.scalars(select(Actor).where(Actor.account_id == account_id)))
    }
    for r in records:
        values = {
            "kind": r.kind, "name": r.name, "status": r.status, "workspace_id": r.workspace_id,
            "created_at": r.created_at_ms, "created_by": r.created_by, "raw": r.raw,
        }  # fmt: skip
        actor = stored.get(r.remote_id)
        if actor is None:
            actor = Actor(
                account_id=account_id, remote_id=r.remote_id, first_seen_at=now, updated_at=now,
                **values,
            )  # fmt: skip
            session.add(actor)
            stored[r.remote_id] = actor
            counts.inserted += 1
        elif any(getattr(actor, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(actor, name, value)
            actor.updated_at = now
            counts.updated += 1
        else:
            counts.unchanged += 1
    await session.flush()
    return counts


async def actor_labels(
    session: AsyncSession, account_ids: Sequence[str], remote_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(account, actor id) -> (kind, name) of the actors asked for that are known."""
    if not remote_ids:
        return {}
    rows = await session.execute(
        select(Actor.account_id, Actor.remote_id, Actor.kind, Actor.name).where(
            Actor.account_id.in_(list(account_ids)), Actor.remote_id.in_(list(set(remote_ids)))
        )
    )
    return {(a, r): (kind, name) for a, r, kind, name in rows.all()}
