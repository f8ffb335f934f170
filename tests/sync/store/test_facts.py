"""Usage facts: the generic writer, a vendor without events, and Cursor's facts against the
events and daily usage they derive from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from tests.support.report_only import ReportOnlySource
from tests.support.world import world
from unimeter.connectors.facts import METRICS, UsageFactRecord
from unimeter.db.models import (
    DailyUsage,
    RollupDirtyDay,
    UsageEvent,
    UsageFact,
    UserDayRollup,
    UserModelMonthRollup,
)
from unimeter.sync.engine.runner import SyncEngine
from unimeter.sync.service import sync_account
from unimeter.sync.store import facts_repository

DAY = dt.date(2026, 6, 10)


def _fact(email: str, model: str, day: dt.date = DAY, **metrics: int) -> UsageFactRecord:
    return UsageFactRecord(day=day, product="toy", user_email=email, model=model, metrics=metrics)


async def _facts(db: Any, account_id: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    async with db.reader() as session:
        rows = (
            await session.scalars(select(UsageFact).where(UsageFact.account_id == account_id))
        ).all()
    return {
        (r.day, r.product, r.user_email, r.actor, r.surface, r.model, r.is_day_total): {
            name: getattr(r, name) for name in (*METRICS, "is_active", "client_version")
        }
        for r in rows
    }


async def test_the_writer_is_idempotent_and_keeps_unknown_metrics_null(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        batch = [
            _fact("a@x.io", "m1", input_tokens=10, cost_cents_e6=5),
            _fact("a@x.io", "m2", input_tokens=3),
            _fact("b@x.io", "m1", day=DAY + dt.timedelta(days=1), output_tokens=7),
            UsageFactRecord(
                day=DAY, product="toy", user_email="a@x.io", is_day_total=True,
                metrics={"sessions": 2}, is_active=True,
            ),
        ]  # fmt: skip
        async with w.runtime.db.session() as session:
            first = await facts_repository.write_facts(session, account_id, batch)
        assert (first.inserted, first.updated, first.unchanged) == (4, 0, 0)
        async with w.runtime.db.session() as session:
            again = await facts_repository.write_facts(session, account_id, batch)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)

        stored = await _facts(w.runtime.db, account_id)
        m1 = stored[(DAY, "toy", "a@x.io", "", "", "m1", False)]
        assert (m1["input_tokens"], m1["cost_cents_e6"]) == (10, 5)
        # What the vendor did not report is unknown, not zero.
        assert m1["output_tokens"] is None and m1["requests"] is None and m1["is_active"] is None
        assert stored[(DAY, "toy", "a@x.io", "", "", "", True)]["is_active"] is True

        changed = [_fact("a@x.io", "m1", input_tokens=11, cost_cents_e6=5), *batch[1:]]
        async with w.runtime.db.session() as session:
            third = await facts_repository.write_facts(session, account_id, changed)
        assert (third.inserted, third.updated, third.unchanged) == (0, 1, 3)
        stored = await _facts(w.runtime.db, account_id)
        assert stored[(DAY, "toy", "a@x.io", "", "", "m1", False)]["input_tokens"] == 11

        # Detail facts feed the narrow rollups: their days were marked for a rebuild.
        async with w.runtime.db.reader() as session:
            dirty = set((await session.scalars(
                select(RollupDirtyDay.day).where(RollupDirtyDay.account_id == account_id)
            )).all())  # fmt: skip
        assert {DAY, DAY + dt.timedelta(days=1)} <= dirty


async def test_facts_with_one_key_in_a_batch_are_summed(database_url: str, data_dir: Path) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        twice = [
            UsageFactRecord(day=DAY, product="toy", user_email="a@x.io", is_day_total=True,
                            metrics={"requests": 2}, is_active=False, client_version="1.0"),
            UsageFactRecord(day=DAY, product="toy", user_email="a@x.io", is_day_total=True,
                            metrics={"requests": 3, "commits": 1}, is_active=True,
                            client_version="1.2"),
        ]  # fmt: skip
        async with w.runtime.db.session() as session:
            counts = await facts_repository.write_facts(session, account_id, twice)
        assert counts.inserted == 1
        [(_key, values)] = (await _facts(w.runtime.db, account_id)).items()
        assert (values["requests"], values["commits"]) == (5, 1)
        assert (values["is_active"], values["client_version"]) == (True, "1.2")


# -- a vendor without events -------------------------------------------------------------------


def _report_facts() -> list[UsageFactRecord]:
    # 40 days across a month boundary; two members and one API key (an actor).
    return [
        UsageFactRecord(
            day=dt.date(2026, 4, 20) + dt.timedelta(days=offset), product="toy",
            user_email=email, actor="" if email else "key_1", model=model, metrics={
                "input_tokens": 100 * (offset + 1) + n, "output_tokens": 7 * n,
                "cost_cents_e6": 1_000 * (offset + n + 1),
            },
        )
        for offset in range(40)
        for n, email in enumerate(("a@x.io", "b@x.io", ""))
        for model in ("opus", "haiku")
    ]  # fmt: skip


async def test_a_vendor_without_events_gets_its_facts_and_rollups(
    database_url: str, data_dir: Path
) -> None:
    facts = _report_facts()
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        engine = SyncEngine(w.runtime.db, clock=w.sim.clock.now_ms)
        report = await engine.sync(account_id, ReportOnlySource(facts))
        assert report.status == "succeeded"
        assert report.streams["usage_report"].inserted == len(facts)
        stored = await _facts(w.runtime.db, account_id)
        assert len(stored) == len(facts)
        for f in facts:
            values = stored[(f.day, "toy", f.user_email, f.actor, "", f.model, False)]
            assert {k: v for k, v in values.items() if v is not None} == f.metrics

        async with w.runtime.db.reader() as session:
            days = (await session.execute(
                select(UserDayRollup.day, UserDayRollup.user_email, UserDayRollup.product,
                       UserDayRollup.input_tokens, UserDayRollup.charged_cents_e6,
                       UserDayRollup.events)
                .where(UserDayRollup.account_id == account_id)
            )).all()  # fmt: skip
            months = (await session.execute(
                select(UserModelMonthRollup.month, UserModelMonthRollup.user_email,
                       UserModelMonthRollup.model, UserModelMonthRollup.charged_cents_e6)
                .where(UserModelMonthRollup.account_id == account_id)
            )).all()  # fmt: skip
        expected_days: dict[tuple[dt.date, str], list[int]] = {}
        expected_months: dict[tuple[dt.date, str, str], int] = {}
        for f in facts:
            sums = expected_days.setdefault((f.day, f.user_email), [0, 0])
            sums[0] += f.metrics["input_tokens"]
            sums[1] += f.metrics["cost_cents_e6"]
            month = (f.day.replace(day=1), f.user_email, f.model)
            expected_months[month] = expected_months.get(month, 0) + f.metrics["cost_cents_e6"]
        assert {(_day(d), u): [i, c] for d, u, p, i, c, _ in days} == expected_days
        assert {product for _, _, product, *_ in days} == {"toy"}
        assert all(events == 0 for *_, events in days)  # requests unknown: summed as none
        assert {(_day(m), u, model): c for m, u, model, c in months} == expected_months

        # A second run reads the same report: nothing changes.
        again = await engine.sync(account_id, ReportOnlySource(facts))
        assert again.streams["usage_report"].inserted == again.streams["usage_report"].updated == 0


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# -- Cursor's facts ---------------------------------------------------------------------------


async def test_cursor_facts_equal_the_events_and_daily_usage_they_derive_from(
    database_url: str, data_dir: Path
) -> None:
    async with world(database_url, data_dir) as w:
        account_id = await w.link()
        assert (await sync_account(w.runtime, account_id)).status == "succeeded"
        async with w.runtime.db.reader() as session:
            e = UsageEvent
            user = func.coalesce(e.email, "")
            key = (e.day, user, e.surface, e.model)

            def count(cond: Any) -> Any:
                return func.sum(case((cond, 1), else_=0))

            events = (await session.execute(
                select(*key, func.count(), count(e.charge_type == "included"),
                       count(e.charge_type == "usage_based"), count(e.charge_type == "api_key"),
                       count(e.charge_type == "errored"), count(e.max_mode.is_(True)),
                       func.sum(e.input_tokens), func.sum(e.output_tokens),
                       func.sum(e.cache_read_tokens), func.sum(e.cache_write_tokens),
                       func.sum(e.charged_cents_e6))
                .where(e.account_id == account_id).group_by(*key)
            )).all()  # fmt: skip
            daily = (await session.scalars(
                select(DailyUsage).where(DailyUsage.account_id == account_id)
            )).all()  # fmt: skip
        stored = await _facts(w.runtime.db, account_id)
        assert events and daily
        detail = {k: v for k, v in stored.items() if not k[-1]}
        totals = {k: v for k, v in stored.items() if k[-1]}
        assert {k[1] for k in stored} == {"cursor"}
        assert len(detail) == len(events)
        for day, email, surface, model, *sums in events:
            fact = detail[(_day(day), "cursor", email, "", surface, model, False)]
            assert [
                fact[name]
                for name in (
                    "requests", "requests_included", "requests_usage_based", "requests_api_key",
                    "requests_errored", "requests_premium", "input_tokens", "output_tokens",
                    "cache_read_tokens", "cache_write_tokens", "cost_cents_e6",
                )
            ] == sums  # fmt: skip
            assert fact["chat_requests"] is None and fact["lines_added"] is None
        assert len(totals) == len({(d.day, d.email) for d in daily})
        for d in daily:
            fact = totals[(d.day, "cursor", d.email, "", "", "", True)]
            assert (
                fact["requests"]
                == d.included_requests + d.usage_based_requests + d.api_key_requests
            )
            assert (fact["edit_requests"], fact["inline_edit_requests"], fact["review_requests"]) == (
                d.composer_requests, d.cmdk_requests, d.bugbot_requests,
            )  # fmt: skip
            assert (fact["completions_shown"], fact["completions_accepted"]) == (
                d.tabs_shown, d.tabs_accepted,
            )  # fmt: skip
            assert (fact["lines_removed"], fact["accepted_lines_removed"], fact["rejects"]) == (
                d.lines_deleted, d.accepted_lines_deleted, d.rejects,
            )  # fmt: skip
            assert (fact["is_active"], fact["client_version"]) == (d.is_active, d.client_version)
            assert fact["input_tokens"] is None and fact["cost_cents_e6"] is None
