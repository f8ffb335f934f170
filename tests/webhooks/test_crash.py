"""A crash between a change and its webhook: the event waits in the outbox and is
delivered by the next process.

A real ``unimeter serve`` makes the changes with its webhook sender switched off, so no
event can leave before the process is killed with SIGKILL; a second ``unimeter serve``
on the same database then delivers them.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support.api import KEYS
from tests.support.cli import CLI
from tests.support.live import serve, wait_until
from tests.support.server import running_server
from tests.support.world import make_sim
from unimeter.connectors.cursor.simulator import create_app
from unimeter.db.base import now_ms

from .receiver import Receiver

CHANGE_EVENTS = ["integrated_account:active", "integrated_account:created"]


async def test_events_committed_before_a_crash_are_delivered_after_restart(
    database_url: str, data_dir: Path, receiver: Receiver, tmp_path: Path
) -> None:
    sim = make_sim(api_keys=KEYS, users=3, days=2, now_ms=now_ms())
    cli = CLI(
        data_dir=data_dir,
        database_url=database_url,
        extra_env={"UNIMETER_ALLOW_PRIVATE_URLS": "1", "UNIMETER_ALLOW_PRIVATE_WEBHOOKS": "1"},
    )
    token = json.loads(cli("tokens", "create", "--json").stdout)["token"]
    headers = {"Authorization": f"Bearer {token}"}
    silent = {**cli.env(), "UNIMETER_WEBHOOK_DISPATCHER": "0"}

    with serve(create_app(sim)) as cursor_url:
        with running_server(silent, "--no-scheduler", log=tmp_path / "first.log") as (base, proc):
            hook = httpx.post(
                base + "/webhooks",
                json={"url": receiver.url + "/hook", "event_types": CHANGE_EVENTS},
                headers=headers,
            )
            assert hook.status_code == 201, hook.text
            linked = httpx.post(
                base + "/integrated-accounts",
                json={
                    "integration": "cursor",
                    "credentials": {"api_key": KEYS[0]},
                    "tenant_id": "customer-1",
                    "base_url": cursor_url,
                },
                headers=headers,
            )
            assert linked.status_code == 201, linked.text
            proc.kill()  # SIGKILL: no shutdown hook runs
            proc.wait(10)
        assert receiver.received() == [], "the first process never sent anything"

        with running_server(cli.env(), "--no-scheduler", log=tmp_path / "second.log"):
            wait_until(lambda: len(receiver.received("/hook")) >= len(CHANGE_EVENTS))

    received = receiver.received("/hook")
    secret = hook.json()["secret"]
    events = [r.verify(secret) for r in received]
    assert sorted(e["type"] for e in events) == CHANGE_EVENTS
    assert {e["data"]["id"] for e in events} == {linked.json()["id"]}
    assert len({r.id for r in received}) == len(received), "each event delivered once"
