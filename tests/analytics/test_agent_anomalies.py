"""Failing and runaway cloud agents: found after a sync from the runs the test wrote,
announced once by webhook; ordinary failure rates and ordinary runs page nobody."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from tests.analytics.codeworld import TODAY, ms
from tests.analytics.test_anomalies import listed
from tests.web.test_pages import sign_in
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_hook, drain, hook_world
from unimeter.analytics.schemas import AnomalyOut
from unimeter.connectors.records import AgentRunRecord
from unimeter.sync.service import sync_account
from unimeter.sync.store import code_repository

FAILING, STEADY, COSTLY, HUNGRY = "fail@x.io", "steady@x.io", "costly@x.io", "hungry@x.io"
DOLLAR = 100 * 10**6


def _run(
    key: str, email: str, days_ago: int, status: str = "finished", **extra: Any
) -> AgentRunRecord:
    return AgentRunRecord(
        key=key, agent_id=f"bc-{key}", user_email=email, name=None, status=status,
        repository="acme/pay", branch=None, pull_request_url=None,
        created_at_ms=ms(TODAY - dt.timedelta(days=days_ago), hour=9), duration_ms=60_000,
        **extra,
    )  # fmt: skip


def _runs() -> list[AgentRunRecord]:
    runs = []
    for n in range(1, 26):
        runs += [_run(f"f{n}a", FAILING, n), _run(f"f{n}b", FAILING, n)]
        if n in (5, 10):
            runs.append(_run(f"f{n}e", FAILING, n, "error"))
        runs.append(_run(f"s{n}", STEADY, n, "error"))  # fails every day: its norm
        runs.append(_run(f"c{n}", COSTLY, n, cost_cents_e6=DOLLAR, input_tokens=100_000))
        runs.append(_run(f"h{n}", HUNGRY, n, input_tokens=200_000))
    runs += [_run(f"today-e{k}", FAILING, 0, "error") for k in range(6)]
    runs += [_run("today-s1", STEADY, 0, "error"), _run("today-s2", STEADY, 0, "expired")]
    runs.append(_run("runaway", COSTLY, 0, cost_cents_e6=80 * DOLLAR, input_tokens=150_000))
    runs.append(_run("ordinary", COSTLY, 0, cost_cents_e6=2 * DOLLAR, input_tokens=100_000))
    runs.append(_run("hungry", HUNGRY, 0, input_tokens=3_000_000, output_tokens=10_000))
    return runs


async def test_failing_and_runaway_agents_fire_once(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with hook_world(database_url, data_dir) as (api, dispatcher):
        await create_hook(api, receiver.url + "/alerts", event_types=["usage:anomaly_detected"])
        account = api.accounts["default"]
        async with api.world.runtime.db.session() as session:
            await code_repository.upsert_keyed(session, account, _runs())
        await sync_account(api.world.runtime, account)
        await drain(dispatcher)
        first = [a for a in await listed(api) if a["kind"].startswith("agent_")]
        await sync_account(api.world.runtime, account)  # detection runs again: nothing new
        await drain(dispatcher)
        again = [a for a in await listed(api) if a["kind"].startswith("agent_")]
        only = await listed(api, kind="agent_failures")
        await sign_in(api)
        shown = await api.client.get("/app/anomalies", params={"account": account})

    found = {(a["kind"], a["user_email"]): a for a in first}
    assert set(found) == {("agent_failures", FAILING), ("agent_runaway", COSTLY),
                          ("agent_runaway", HUNGRY)}  # fmt: skip
    failing = found[("agent_failures", FAILING)]
    assert failing["day"] == TODAY.isoformat()
    assert failing["details"]["metric"] == "failed_runs"
    assert (failing["details"]["runs"], failing["details"]["usual_runs"]) == (6, 0.0)
    assert sorted(failing["event_ids"]) == [f"today-e{k}" for k in range(6)]
    costly = found[("agent_runaway", COSTLY)]
    assert (costly["run_id"], costly["event_ids"], costly["model"]) == (
        "runaway",
        ["runaway"],
        None,
    )
    assert costly["details"]["metric"] == "run_cost"
    assert (costly["details"]["cost"], costly["details"]["usual_cost"]) == ("80", "1")
    assert costly["details"]["excess_cost"] == "79" and costly["details"]["multiple"] == 80
    hungry = found[("agent_runaway", HUNGRY)]
    assert hungry["details"]["metric"] == "run_tokens" and hungry["run_id"] == "hungry"
    assert (hungry["details"]["tokens"], hungry["details"]["usual_tokens"]) == (3_010_000, 200_000)
    for a in first:
        AnomalyOut.model_validate(a)
    assert [a["id"] for a in again] == [a["id"] for a in first], "detected once"
    assert [a["kind"] for a in only] == ["agent_failures"]
    assert shown.status_code == 200
    assert "Failing agent runs" in shown.text and "Runaway agent run" in shown.text
    announced = Counter(r.event["data"]["id"] for r in receiver.received("/alerts"))
    assert {i: announced[i] for i in found_ids(first)} == dict.fromkeys(found_ids(first), 1)


def found_ids(anomalies: list[dict[str, Any]]) -> list[str]:
    return [a["id"] for a in anomalies]
