"""Delivering notifications: readable Slack Block Kit and two-part e-mails for account
events, each sent once (also across a dispatcher restart), retried after a failure, with no
secret in the logs."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.api import KEYS, ApiWorld
from tests.webhooks.receiver import Receiver
from unimeter.notifications.dispatcher import NotificationDispatcher

from .smtp import PASSWORD, Mailbox, mailbox
from .support import (
    deliveries,
    drain,
    email_channel,
    notify_world,
    slack_bodies,
    slack_channel,
)

SLACK_PATH = "/services/T01/B02/zzSecretTokenQ7"


async def _failing_sync(api: ApiWorld) -> dict[str, Any]:
    """The vendor revokes the key: the sync fails and the account needs new credentials."""
    api.sim.revoke(KEYS[0])
    account_id = api.accounts["default"]
    started = await api.client.post(f"/integrated-accounts/{account_id}/sync", headers=api.auth())
    assert started.status_code == 202, started.text
    await api.app.state.sync_dispatch.wait_idle()
    run = (await api.get(f"/sync-runs/{started.json()['id']}")).json()
    assert run["status"] == "failed", run
    return run  # type: ignore[no-any-return]


def _texts(body: dict[str, Any]) -> str:
    """Every text of a Block Kit message, as one string."""
    out = [body["text"]]
    for block in body["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", [])]
    return "\n".join(out)


async def test_account_events_go_to_slack_and_email_once_even_after_a_restart(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    with mailbox() as box:
        async with notify_world(database_url, data_dir) as (api, dispatcher):
            slack = await slack_channel(api, receiver, SLACK_PATH, ["needs_reauth", "sync_failed"])
            mail = await email_channel(api, box, ["needs_reauth"])
            await slack_channel(api, receiver, "/digest-only", ["digest"])
            await slack_channel(api, receiver, "/other-env", ["sync_failed"], env="other")
            run = await _failing_sync(api)
            assert await drain(dispatcher) == 3
            first = slack_bodies(receiver, SLACK_PATH)
            mails = box.messages()

            # A new dispatcher on the same store: the sent rows stay sent, only new work goes.
            await dispatcher.aclose()
            restarted = NotificationDispatcher(api.world.runtime)
            try:
                assert await restarted.dispatch_once() == 0
                test = await api.client.post(
                    f"/notification-channels/{slack['id']}/test", headers=api.auth()
                )
                assert test.status_code == 202, test.text
                assert await drain(restarted) == 1
            finally:
                await restarted.aclose()
            logged = await deliveries(api, slack["id"])

    assert receiver.received("/digest-only") == [] and receiver.received("/other-env") == []
    assert len(first) == 2, "one message per event"
    by_title = {body["text"].split(":")[0].split(" for ")[0]: body for body in first}
    assert set(by_title) == {"Account needs new credentials", "Sync failed"}
    failed = _texts(by_title["Sync failed"])
    assert run["id"] in failed and api.accounts["default"] in failed
    for body in first:
        assert body["blocks"][0]["type"] == "header"
        assert body["blocks"][-1]["type"] == "context"
        assert KEYS[0] not in str(body)
    assert len(slack_bodies(receiver, SLACK_PATH)) == 3, "after the restart: the test only"
    assert slack_bodies(receiver, SLACK_PATH)[-1]["text"].startswith("Test message")
    assert sorted(d["status"] for d in logged) == ["sent"] * 3
    assert all(d["attempts"] == 1 for d in logged)

    (email,) = mails
    assert email["Subject"].startswith("[unimeter] Account needs new credentials")
    assert email["To"] == "finops@example.com, cto@example.com"
    assert box.logins == ["mailer"], "logged in with the decrypted password"
    plain = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert plain is not None and html is not None
    assert api.accounts["default"] in plain.get_content()
    assert "<h2>" in html.get_content() and api.accounts["default"] in html.get_content()
    assert box.envelopes()[0].rcpt_tos == ["finops@example.com", "cto@example.com"]
    assert mail["id"]


async def _until_settled(
    api: ApiWorld, dispatcher: NotificationDispatcher, channel_id: str
) -> list[dict[str, Any]]:
    """Drive the dispatcher until the channel's one delivery is no longer pending."""
    deadline = time.monotonic() + 20
    while True:
        assert time.monotonic() < deadline
        if not await dispatcher.dispatch_once():
            await asyncio.sleep(0.005)  # poll interval: the retry is not due yet
        (current,) = await deliveries(api, channel_id)
        if current["status"] != "pending":
            return [current]


async def test_failures_are_retried_with_backoff_and_no_secret_is_logged(
    database_url: str, data_dir: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # Our loggers at their most verbose (the process keeps httpx, which logs whole URLs, at
    # WARNING: observability/logging.py).
    caplog.set_level(logging.DEBUG, logger="unimeter")
    settings = {"notification_retry_base_seconds": 0.02, "notification_retry_max_seconds": 0.1}
    with mailbox() as box:
        async with notify_world(database_url, data_dir, **settings) as (api, dispatcher):
            slack = await slack_channel(api, receiver, SLACK_PATH, ["sync_failed"])
            mail = await email_channel(api, box, ["sync_failed"])
            receiver.status[SLACK_PATH] = 500
            box.refuse_next = 1
            await _failing_sync(api)
            assert await dispatcher.dispatch_once() == 2
            after_failure = {c: await deliveries(api, c) for c in (slack["id"], mail["id"])}
            metrics = (await api.client.get("/metrics")).text
            receiver.status[SLACK_PATH] = 200
            (sent_slack,) = await _until_settled(api, dispatcher, slack["id"])
            (sent_mail,) = await _until_settled(api, dispatcher, mail["id"])
            assert await drain(dispatcher) == 0

    (slack_failed,) = after_failure[slack["id"]]
    (mail_failed,) = after_failure[mail["id"]]
    assert (slack_failed["status"], slack_failed["attempts"]) == ("pending", 1)
    assert slack_failed["last_error"] == "HTTP 500"
    assert mail_failed["status"] == "pending" and "451" in mail_failed["last_error"]
    assert (sent_slack["status"], sent_slack["attempts"]) == ("sent", 2)
    assert (sent_mail["status"], sent_mail["attempts"]) == ("sent", 2)
    assert len(receiver.received(SLACK_PATH)) == 2, "one failure, one success"
    assert len(box.messages()) == 1
    assert "\nunimeter_notification_outbox_pending 2.0\n" in metrics
    assert 'unimeter_notification_deliveries_total{kind="slack",outcome="retrying"}' in metrics
    assert 'unimeter_notification_deliveries_total{kind="email",outcome="retrying"}' in metrics
    logged = caplog.text
    assert "failed (attempt 1)" in logged, "failures are logged"
    assert "zzSecretTokenQ7" not in logged and PASSWORD not in logged


async def test_an_unreachable_server_is_a_failed_attempt(
    database_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="unimeter")
    async with notify_world(database_url, data_dir) as (api, dispatcher):
        box = Mailbox()  # never started: nothing listens on its port
        box.port = 9
        mail = await email_channel(api, box, ["digest"])
        slack = await api.client.post(
            "/notification-channels",
            json={"name": "gone", "kind": "slack", "topics": ["digest"],
                  "slack": {"webhook_url": "http://127.0.0.1:9/services/zzGoneSecret"}},
            headers=api.auth(),
        )  # fmt: skip
        for channel in (mail["id"], slack.json()["id"]):
            await api.client.post(f"/notification-channels/{channel}/test", headers=api.auth())
        assert await dispatcher.dispatch_once() == 2
        logged = [*await deliveries(api, mail["id"]), *await deliveries(api, slack.json()["id"])]
    assert [d["status"] for d in logged] == ["pending", "pending"]
    assert all(d["last_error"] for d in logged)
    assert "zzGoneSecret" not in caplog.text + str(logged) and PASSWORD not in caplog.text
