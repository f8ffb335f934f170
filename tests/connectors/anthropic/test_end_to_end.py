"""An Anthropic organization end to end: linked through the API, synced, and read back from
the unified API, every figure equal to the simulator's ground truth (computed here from the
truth's raw rows, not through the connector's mapping)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.connectors.anthropic.e2e_support import (
    CLAUDE_API,
    CLAUDE_CODE,
    USERS_PATH,
    Env,
    by_grain,
    complete_days,
    environment,
    expected_by_model,
    expected_claude_api,
    expected_claude_code,
    expected_sums,
    figures_of,
    grain_of,
    make_sim,
    messages_tokens,
    nonzero,
    sums,
)
from unimeter.sync.engine.report import SyncAuthError
from unimeter.sync.service import sync_account

INVALID_KEY = "sk-ant-admin01-" + "0" * 93


def _canonical(rows: list[dict[str, Any]]) -> list[bytes]:
    """Vendor rows as comparable bytes, in no particular order."""
    return sorted(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in rows)


async def _users(env: Env, account_id: str) -> dict[str, dict[str, Any]]:
    rows = await env.walk(USERS_PATH, integrated_account_id=account_id)
    return {u["id"]: u for u in rows}


async def _assert_matches_truth(env: Env, account_id: str) -> list[dict[str, Any]]:
    """Every (product, person, day) row of the whole history equals the truth; returns the
    rows."""
    rows = await env.usage(account_id)
    expected = {**expected_claude_code(env.truth), **expected_claude_api(env.truth)}
    assert by_grain(rows) == nonzero(expected)
    return rows


async def test_linking_tells_a_normal_key_and_an_invalid_key_apart(
    database_url: str, data_dir: Path
) -> None:
    async with environment(database_url, data_dir) as env:
        not_admin = await env.link(env.sim.non_admin_key)
        assert not_admin.status_code == 422, not_admin.text
        body = not_admin.json()
        assert body["statusCode"] == 422 and body["error"] == "Unprocessable Entity"
        assert "not an Anthropic Admin API key" in body["message"]
        assert env.sim.non_admin_key not in not_admin.text

        invalid = await env.link(INVALID_KEY)
        assert invalid.status_code == 422, invalid.text
        assert "Anthropic rejected the key (401)" in invalid.json()["message"]
        assert INVALID_KEY not in invalid.text
        assert (await env.json("/integrated-accounts"))["result"] == []

        account_id = await env.linked()
        account = await env.json(f"/integrated-accounts/{account_id}")
        assert (account["integration"], account["status"]) == ("anthropic", "active")


async def test_a_backfill_over_real_http_equals_the_truth(
    database_url: str, data_dir: Path
) -> None:
    async with environment(database_url, data_dir, transport="http") as env:
        account_id = await env.linked()
        await env.sync(account_id)
        truth = env.truth

        # Users: every current one, active, with their email and name.
        users = await _users(env, account_id)
        current = {u.id: u for u in truth.users() if u.removed_at_ms is None}
        assert set(users) == set(current)
        for user_id, user in users.items():
            assert user["emails"] == [{"email": current[user_id].email.lower(), "is_primary": True}]
            assert user["name"] == current[user_id].name
            assert user["status"] == "active"
        # Anthropic lists no removed users, so people removed before the link never show;
        # their Claude Code usage still does, under their email, with no user id.
        gone = {u.email.lower() for u in truth.users() if u.removed_at_ms is not None}
        assert gone and not gone & {u["emails"][0]["email"] for u in users.values()}

        # Usage: per (product, person, day), every figure.
        rows = await _assert_matches_truth(env, account_id)
        assert {r["product"]["id"] for r in rows} == {CLAUDE_CODE, CLAUDE_API}
        estimates = {(r["product"]["id"], c["is_estimate"]) for r in rows for c in r["charges"]}
        assert estimates == {(CLAUDE_CODE, True), (CLAUDE_API, False)}
        assert all(c["currency"] == "USD" for r in rows for c in r["charges"])
        leavers = [r["user"] for r in rows if r["user"] and r["user"]["email"] in gone]
        assert leavers and all(u["id"] is None for u in leavers)

        # Claude API per day: the cost report's sum to the cent and the Messages tokens.
        api_rows = [r for r in rows if r["product"]["id"] == CLAUDE_API]
        for day in complete_days(truth):
            of_day = [r for r in api_rows if grain_of(r)[2] == day]
            cost = sum((figures_of(r).get("cost", Decimal(0)) for r in of_day), Decimal(0))
            assert cost * 100 == truth.cost_cents(day)
            tokens = sums(of_day, CLAUDE_API)
            for name in ("input", "output", "cache_read", "cache_write"):
                total = sum(messages_tokens(m)[name] for m in truth.messages_results(day))
                assert tokens.get(name, 0) == total, (day, name)


def _snapshot_date(model: str) -> bool:
    head, _, tail = model.rpartition("-")
    return bool(head) and len(tail) == 8 and tail.isdigit()


async def test_grouping_filters_and_remote_data_equal_the_truth(
    database_url: str, data_dir: Path
) -> None:
    async with environment(database_url, data_dir) as env:
        account_id = await env.linked()
        await env.sync(account_id)
        truth = env.truth
        expected = {**expected_claude_code(truth), **expected_claude_api(truth)}

        # By model, over the whole history: each product's sums per model.
        rows = await env.usage(account_id, granularity="total", **{"group_by[]": "model"})
        assert {r["model"]["provider"] for r in rows} == {"anthropic"}
        for product in (CLAUDE_CODE, CLAUDE_API):
            want = expected_by_model(truth, product)
            # The API names a model without its snapshot date (claude-sonnet-4-5).
            shown = {r["model"]["id"]: figures_of(r) for r in rows if r["product"]["id"] == product}
            assert shown == {
                (m.rpartition("-")[0] if _snapshot_date(m) else m): {
                    k: v for k, v in figures.items() if k != "cost" or v
                }
                for m, figures in want.items()
            }

            # Filtered by a model (as Anthropic names it): that model's sums only.
            model = max((m for m in want if m), key=lambda m: want[m]["input"])
            filtered = await env.usage(account_id, granularity="total", **{"model_ids[]": model})
            assert sums(filtered, product) == {k: v for k, v in want[model].items() if v}
            # ... and as the records show it (without its snapshot date): the same sums.
            if _snapshot_date(model):
                as_shown = model.rpartition("-")[0]
                again = await env.usage(
                    account_id, granularity="total", **{"model_ids[]": as_shown}
                )
                assert sums(again, product) == sums(filtered, product)
            # A model filter leaves the day totals out: no work counters shown as zeros.
            assert all("work" not in r["usage"] for r in filtered)

        # Filtered by a person's email: their own rows, equal to the truth's.
        people = sorted({email for _, email, _ in expected if email})
        for email in people[:3]:
            mine = await env.usage(account_id, **{"emails[]": email})
            assert {grain_of(r)[1] for r in mine} == {email}
            assert by_grain(mine) == nonzero({g: f for g, f in expected.items() if g[1] == email})
            for product in (CLAUDE_CODE, CLAUDE_API):
                assert sums(mine, product) == expected_sums(expected, product, email)

        # remote_data: the vendor's own rows behind a person's day, as Anthropic sent them.
        grains = [g for g in expected if g[0] == CLAUDE_CODE and g[1]]
        for _, email, day in grains[:: max(1, len(grains) // 5)]:
            params = {"start_date": day.isoformat(), "end_date": (day + dt.timedelta(days=1)).isoformat(),
                      "include_remote_data": "true", "emails[]": email}  # fmt: skip
            found = await env.walk(
                "/unified/usage-metering/usage", integrated_account_id=account_id, **params
            )
            [row] = [r for r in found if r["product"]["id"] == CLAUDE_CODE]
            served = [
                r for r in truth.claude_code_rows(day)
                if r["actor"].get("email_address", "").lower() == email
            ]  # fmt: skip
            assert row["remote_data"]["usage_facts_truncated"] is False
            assert _canonical(row["remote_data"]["usage_facts"]) == _canonical(served)


def _fresh(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their refresh times (each sync stamps them)."""
    return [{k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in rows]


async def test_a_second_sync_changes_nothing(database_url: str, data_dir: Path) -> None:
    async with environment(database_url, data_dir) as env:
        account_id = await env.linked()
        first = await env.sync(account_id)
        assert sum(s.inserted for s in first.streams.values()) > 0
        users = await _users(env, account_id)
        rows = await env.usage(account_id)

        again = await env.sync(account_id)
        changed = {n: (s.inserted, s.updated) for n, s in again.streams.items()}
        assert set(changed.values()) == {(0, 0)}, changed
        assert _fresh(list((await _users(env, account_id)).values())) == _fresh(
            list(users.values())
        )
        assert _fresh(await env.usage(account_id)) == _fresh(rows)


async def test_a_backfill_through_faults_equals_the_truth(
    database_url: str, data_dir: Path
) -> None:
    sim = make_sim(fault_rate=0.1)
    async with environment(database_url, data_dir, sim=sim) as env:
        account_id = await env.linked()
        report = await env.sync(account_id)
        assert sum(s.retries for s in report.streams.values()) > 0
        assert sum(sim.faults.injected.values()) > 0
        await _assert_matches_truth(env, account_id)


async def test_revised_costs_replace_the_old_ones(database_url: str, data_dir: Path) -> None:
    async with environment(database_url, data_dir) as env:
        account_id = await env.linked()
        await env.sync(account_id)
        # A day later Anthropic revises its last three complete days (the day before the
        # first sync, the day of it and the one after), then the daily sync runs.
        env.sim.clock.advance(hours=24)
        before = {day: env.truth.cost_cents(day) for day in complete_days(env.truth)}
        env.sim.revise()
        revised = [d for d, cents in before.items() if env.truth.cost_cents(d) != cents]
        assert revised

        await env.sync(account_id)
        rows = await _assert_matches_truth(env, account_id)
        for day in revised:
            of_day = [r for r in rows if r["product"]["id"] == CLAUDE_API and grain_of(r)[2] == day]
            cost = sum((figures_of(r).get("cost", Decimal(0)) for r in of_day), Decimal(0))
            assert cost * 100 == env.truth.cost_cents(day) != before[day]


async def test_a_revoked_key_fails_the_sync_and_asks_for_new_credentials(
    database_url: str, data_dir: Path
) -> None:
    async with environment(database_url, data_dir) as env:
        account_id = await env.linked()
        await env.sync(account_id)
        env.sim.revoke(env.sim.keys[0])
        with pytest.raises(SyncAuthError):
            await sync_account(env.runtime, account_id)
        account = await env.json(f"/integrated-accounts/{account_id}")
        assert account["status"] == "needs_reauth"
        assert env.sim.keys[0] not in orjson.dumps(account).decode()
        # What was synced before stays readable.
        await _assert_matches_truth(env, account_id)


async def test_a_user_removed_after_linking_is_deleted_and_keeps_their_usage(
    database_url: str, data_dir: Path
) -> None:
    async with environment(database_url, data_dir) as env:
        account_id = await env.linked()
        await env.sync(account_id)
        coders = {email for _, email, _ in expected_claude_code(env.truth) if email}
        leaver = next(
            u for u in env.truth.users() if u.removed_at_ms is None and u.email.lower() in coders
        )
        email = leaver.email.lower()
        usage_before = await env.usage(account_id, **{"emails[]": email})
        assert usage_before

        env.users_filter.hidden.add(leaver.id)  # gone from Anthropic's /users from now on
        await env.sync(account_id)
        users = await _users(env, account_id)
        assert users[leaver.id]["status"] == "deleted"
        assert users[leaver.id]["emails"] == [{"email": email, "is_primary": True}]
        others = {i for i, u in users.items() if u["status"] == "active"}
        assert others == {u.id for u in env.truth.users() if u.removed_at_ms is None} - {leaver.id}
        deleted = await env.walk(USERS_PATH, integrated_account_id=account_id, status="deleted")
        assert [u["id"] for u in deleted] == [leaver.id]
        # Their Claude Code history is kept, still theirs.
        kept = [r for r in await env.usage(account_id, **{"emails[]": email})
                if r["product"]["id"] == CLAUDE_CODE]  # fmt: skip
        assert _fresh(kept) == _fresh(
            [r for r in usage_before if r["product"]["id"] == CLAUDE_CODE]
        )
