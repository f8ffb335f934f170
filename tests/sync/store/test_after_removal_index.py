"""The reads of events after a removal use the partial index that holds only those events.

The index is partial (``after_removal IS TRUE``) so a backfill's inserts do not maintain it;
a planner uses it only for a query whose predicate it can prove implies the index's. These
tests take the statements attribution actually sends and ask the planner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.world import make_sim, world
from unimeter.sync.service import sync_account
from unimeter.sync.store import attribution

INDEX = "ix_usage_events_account_removed_member"


async def _plan(session: AsyncSession, sql: str, params: Any) -> str:
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in rows)
    # A small table is cheaper to scan: forbid that, to ask whether the index is usable.
    await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = await connection.exec_driver_sql(f"EXPLAIN {sql}", params)
    return "\n".join(str(row[0]) for row in rows)


async def test_attributions_after_removal_reads_use_the_partial_index(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(users=12, days=10)
    async with world(database_url, data_dir, sim=sim) as w:
        account_id = await w.link()
        await sync_account(w.runtime, account_id)
        sent: list[tuple[str, Any]] = []

        def capture(_c: Any, _cur: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
            reads_events = sql.lstrip().upper().startswith("SELECT") and "FROM usage_events" in sql
            if reads_events and "after_removal IS" in sql:
                sent.append((sql, params))

        engine = w.runtime.db.write_engine.sync_engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            async with w.runtime.db.session() as session:
                await attribution.finalize(session, account_id)
        finally:
            event.remove(engine, "before_cursor_execute", capture)

        # The per-member count and the per-member summary.
        assert len(sent) >= 1
        async with w.runtime.db.session() as session:
            for sql, params in sent:
                plan = await _plan(session, sql, params)
                assert INDEX in plan, f"{sql}\n{plan}"
