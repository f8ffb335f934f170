"""Delivering events: signed per Standard Webhooks, the right events to the right webhooks,
retries with backoff, disabling after too many failures, and surviving key rotation."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.api import KEYS, ApiWorld
from tests.support.world import SIM_BASE_URL
from unimeter.accounts.service import rotate_keys
from unimeter.app import open_runtime
from unimeter.config import Settings
from unimeter.webhooks.dispatcher import WebhookDispatcher

from .receiver import Receiver, epoch_ms
from .support import create_hook, deliveries, drain, hook_world

ACCOUNT_FIELDS = {
    "id", "integration", "tenant_id", "name", "status", "last_synced_at", "last_error",
    "sync_frequency_minutes", "next_sync_at", "created_at", "updated_at",
}  # fmt: skip
SECRET_OF = text("SELECT secret FROM webhooks WHERE id = :id")


async def _sync(api: ApiWorld, account_id: str) -> dict[str, Any]:
    """Run an on-demand sync through the API and return the finished run."""
    started = await api.client.post(f"/integrated-accounts/{account_id}/sync", headers=api.auth())
    assert started.status_code == 202, started.text
    await api.app.state.sync_dispatch.wait_idle()
    run = (await api.get(f"/sync-runs/{started.json()['id']}")).json()
    assert run["status"] in ("succeeded", "failed"), run
    return run  # type: ignore[no-any-return]


async def test_events_arrive_signed_and_are_logged(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with hook_world(database_url, data_dir) as (api, dispatcher):
        hook = await create_hook(api, receiver.url + "/in")
        secret = hook["secret"]
        account_id = api.accounts["default"]
        # Non-ASCII survives signing: the signature covers the exact UTF-8 bytes sent.
        renamed = await api.client.patch(
            f"/integrated-accounts/{account_id}",
            json={"name": "Café ☕ 東京"},
            headers=api.auth(),
        )
        assert renamed.status_code == 200, renamed.text
        queued = await api.client.post(f"/webhooks/{hook['id']}/test", headers=api.auth())
        assert queued.status_code == 202
        test_delivery = queued.json()
        assert test_delivery["status"] == "pending"
        assert test_delivery["attempts"] == 0
        assert test_delivery["attempt_log"] == []

        before = time.time()
        assert await drain(dispatcher) == 2
        got = {r.type: r for r in receiver.received("/in")}
        assert sorted(got) == ["integrated_account:updated", "webhook:test"]
        for request in got.values():
            assert request.headers["content-type"] == "application/json"
            assert request.headers["user-agent"] == "unimeter-webhooks"
            assert request.headers["webhook-id"].startswith("msg")
            assert request.headers["webhook-signature"].startswith("v1,")
            assert abs(int(request.headers["webhook-timestamp"]) - before) < 60
            event = request.verify(secret)
            assert set(event) == {"type", "timestamp", "data"}
            assert event == request.event

        updated = got["integrated_account:updated"].event
        assert set(updated["data"]) == ACCOUNT_FIELDS
        assert updated["data"]["id"] == account_id
        assert updated["data"]["name"] == "Café ☕ 東京"
        # The API's view of the account, less what the last sync learned of its streams.
        shown = {k: v for k, v in renamed.json().items() if k != "capabilities"}
        assert updated["data"] == shown
        assert abs(epoch_ms(updated["timestamp"]) / 1000 - before) < 60
        test_event = got["webhook:test"].event
        assert test_event["data"]["webhook_id"] == hook["id"]
        assert got["webhook:test"].id == test_delivery["id"]

        # Anything else fails verification: another secret, a changed body, a replayed
        # signature under another message id, or an old timestamp.
        request = got["webhook:test"]
        other_secret = (await create_hook(api, receiver.url + "/unused"))["secret"]
        with pytest.raises(WebhookVerificationError):
            request.verify(other_secret)
        tampered = request.body.replace(hook["id"].encode(), b"whk_someone_else")
        assert tampered != request.body
        for body, headers in (
            (tampered, request.headers),
            (request.body, {**request.headers, "webhook-id": "msg_other"}),
            (request.body, {**request.headers, "webhook-timestamp": str(int(before) - 3600)}),
        ):
            with pytest.raises(WebhookVerificationError):
                type(request)(request.path, headers, body, request.at_ms).verify(secret)

        log = await deliveries(api, hook["id"])
        assert {d["id"] for d in log} == {r.id for r in got.values()}
        created = [dt.datetime.fromisoformat(d["created_at"]) for d in log]
        assert created == sorted(created, reverse=True), "newest first"
        for delivery in log:
            assert delivery["webhook_id"] == hook["id"]
            assert delivery["status"] == "succeeded"
            assert delivery["attempts"] == 1
            assert delivery["last_status_code"] == 204
            assert delivery["next_attempt_at"] is None
            assert delivery["finished_at"] is not None
            assert delivery["payload"] == got[delivery["event_type"]].event
            (attempt,) = delivery["attempt_log"]
            assert attempt["outcome"] == "succeeded"
            assert attempt["status_code"] == 204
            assert attempt["error"] is None
            assert isinstance(attempt["latency_ms"], int)
            assert 0 <= attempt["latency_ms"] < 10_000
        assert secret not in str(log)
        assert await deliveries(api, hook["id"], status="pending") == []
        assert len(await deliveries(api, hook["id"], status="succeeded")) == 2
        # Nothing is sent twice.
        assert await drain(dispatcher) == 0
        assert len(receiver.received()) == 2


async def test_account_lifecycle_events(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with hook_world(database_url, data_dir) as (api, dispatcher):
        hook = await create_hook(api, receiver.url + "/accounts")
        linked = await api.client.post(
            "/integrated-accounts",
            json={
                "integration": "cursor",
                "credentials": {"api_key": KEYS[0]},
                "tenant_id": "cust-9",
                "base_url": SIM_BASE_URL,
                "sync_frequency_minutes": None,
            },
            headers=api.auth(),
        )
        assert linked.status_code == 201, linked.text
        account_id = linked.json()["id"]
        await drain(dispatcher)
        assert receiver.types("/accounts") == [
            "integrated_account:active",
            "integrated_account:created",
        ]
        for request in receiver.received("/accounts"):
            data = request.verify(hook["secret"])["data"]
            assert data["id"] == account_id
            assert data["status"] == "active"
            assert data["tenant_id"] == "cust-9"

        # The vendor revokes the key: the sync fails and the account needs new credentials.
        api.sim.revoke(KEYS[0])
        run = await _sync(api, account_id)
        assert run["status"] == "failed"
        await drain(dispatcher)
        newer = receiver.received("/accounts")[2:]
        assert sorted(r.type for r in newer) == [
            "integrated_account:authentication_error",
            "sync_run:failed",
            "sync_run:started",
        ]
        by_type = {r.type: r.verify(hook["secret"])["data"] for r in newer}
        assert by_type["integrated_account:authentication_error"]["status"] == "needs_reauth"
        assert KEYS[0] not in str(by_type)
        assert by_type["sync_run:failed"]["id"] == run["id"]
        assert by_type["sync_run:failed"]["error"]
        assert "records" not in by_type["sync_run:failed"]

        # Working credentials again: updated, and reactivated.
        api.sim.restore(KEYS[0])
        fixed = await api.client.patch(
            f"/integrated-accounts/{account_id}",
            json={"credentials": {"api_key": KEYS[0]}},
            headers=api.auth(),
        )
        assert fixed.status_code == 200, fixed.text
        await drain(dispatcher)
        newer = receiver.received("/accounts")[5:]
        assert sorted(r.type for r in newer) == [
            "integrated_account:reactivated",
            "integrated_account:updated",
        ]
        assert all(r.verify(hook["secret"])["data"]["status"] == "active" for r in newer)

        # A change the vendor refuses is not a change: no event.
        refused = await api.client.patch(
            f"/integrated-accounts/{account_id}",
            json={"credentials": {"api_key": "crsr_" + "9" * 64}},
            headers=api.auth(),
        )
        assert refused.status_code == 422
        assert await drain(dispatcher) == 0

        deleted = await api.client.delete(f"/integrated-accounts/{account_id}", headers=api.auth())
        assert deleted.status_code == 200
        await drain(dispatcher)
        (gone,) = receiver.received("/accounts")[7:]
        assert gone.verify(hook["secret"]) == {
            "type": "integrated_account:deleted",
            "timestamp": gone.event["timestamp"],
            "data": {"id": account_id},
        }
        assert len(receiver.received()) == 8


async def test_sync_events_carry_counts_and_stay_in_their_environment(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with hook_world(database_url, data_dir) as (api, dispatcher):
        everything = await create_hook(api, receiver.url + "/all")
        completed_only = await create_hook(
            api, receiver.url + "/completed", event_types=["sync_run:completed"]
        )
        elsewhere = await create_hook(api, receiver.url + "/other", env="other")
        account_id = api.accounts["default"]

        await api.client.patch(
            f"/integrated-accounts/{account_id}", json={"name": "renamed"}, headers=api.auth()
        )
        run = await _sync(api, account_id)
        assert run["status"] == "succeeded", run
        await drain(dispatcher)

        assert receiver.types("/all") == [
            "integrated_account:updated",
            "sync_run:completed",
            "sync_run:started",
        ]
        assert receiver.types("/completed") == ["sync_run:completed"]
        assert receiver.received("/other") == [], "another environment's events stay there"

        events = {r.type: r.verify(everything["secret"]) for r in receiver.received("/all")}
        started = events["sync_run:started"]["data"]
        completed = events["sync_run:completed"]["data"]
        assert started["id"] == completed["id"] == run["id"]
        assert started["integrated_account_id"] == completed["integrated_account_id"] == account_id
        assert started["status"] == "running"
        assert completed["status"] == "succeeded"
        assert "records" not in started
        records = completed["records"]
        expected = {
            stream: {"added": stats["inserted"], "updated": stats["updated"]}
            for stream, stats in run["streams"].items()
            if stream != "probe"
        }
        assert records == expected
        assert records["usage_events"]["added"] > 0
        assert records["daily_usage"]["added"] > 0
        assert all(set(counts) == {"added", "updated"} for counts in records.values())
        # Both webhooks got the same event, each signed with its own secret.
        (only,) = receiver.received("/completed")
        assert only.verify(completed_only["secret"]) == events["sync_run:completed"]
        assert only.id != receiver.received("/all")[0].id
        with pytest.raises(WebhookVerificationError):
            only.verify(everything["secret"])

        # A second sync finds nothing new: added counts drop to zero.
        again = await _sync(api, account_id)
        assert again["status"] == "succeeded"
        await drain(dispatcher)
        latest = [
            r for r in receiver.received("/completed") if r.event["data"]["id"] == again["id"]
        ]
        (second,) = latest
        assert second.event["data"]["records"]["usage_events"]["added"] == 0

        # A test event ignores the subscription list.
        await api.client.post(f"/webhooks/{completed_only['id']}/test", headers=api.auth())
        await api.client.post(f"/webhooks/{elsewhere['id']}/test", headers=api.auth("other"))
        await drain(dispatcher)
        assert receiver.types("/completed") == [
            "sync_run:completed",
            "sync_run:completed",
            "webhook:test",
        ]
        (other_test,) = receiver.received("/other")
        assert other_test.verify(elsewhere["secret"])["type"] == "webhook:test"


async def test_failing_endpoint_is_retried_with_backoff_then_disabled(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    settings = {
        "webhook_max_attempts": 4,
        "webhook_retry_base_seconds": 0.02,
        "webhook_retry_max_seconds": 0.1,
    }
    async with hook_world(database_url, data_dir, **settings) as (api, dispatcher):
        receiver.status["/failing"] = 500
        failing = await create_hook(api, receiver.url + "/failing")
        healthy = await create_hook(api, receiver.url + "/healthy")
        fussy = await create_hook(api, receiver.url + "/fussy", event_types=["sync_run:failed"])
        queued = await api.client.post(f"/webhooks/{failing['id']}/test", headers=api.auth())
        delivery_id = queued.json()["id"]

        # Drive the dispatcher until the delivery gives up, looking at it after each attempt.
        snapshots: list[dict[str, Any]] = []
        deadline = time.monotonic() + 20
        while not snapshots or snapshots[-1]["status"] == "pending":
            assert time.monotonic() < deadline, snapshots
            if await dispatcher.dispatch_once():
                (current,) = await deliveries(api, failing["id"])
                assert current["id"] == delivery_id
                snapshots.append(current)
            else:
                await asyncio.sleep(0.005)  # poll interval: nothing is due yet

        assert [s["attempts"] for s in snapshots] == [1, 2, 3, 4]
        assert [s["status"] for s in snapshots] == ["pending"] * 3 + ["failed"]
        # Exponential backoff, base * 4**(n-1), capped at the maximum: 20 ms, 80 ms, 100 ms.
        waits = [
            epoch_ms(s["next_attempt_at"]) - epoch_ms(s["attempt_log"][-1]["attempted_at"])
            for s in snapshots[:3]
        ]
        assert waits == [20, 80, 100]
        due = [epoch_ms(s["next_attempt_at"]) for s in snapshots[:3]]
        assert due == sorted(due)
        assert len(set(due)) == 3
        final = snapshots[-1]
        assert final["next_attempt_at"] is None
        assert final["finished_at"] is not None
        assert final["last_status_code"] == 500
        log = final["attempt_log"]
        assert [a["outcome"] for a in log] == ["failed"] * 4
        assert [a["status_code"] for a in log] == [500] * 4
        assert [a["error"] for a in log] == ["HTTP 500"] * 4
        sent_at = [epoch_ms(a["attempted_at"]) for a in log]
        gaps = [b - a for a, b in pairwise(sent_at)]
        assert all(gap >= wait for gap, wait in zip(gaps, waits, strict=True)), (gaps, waits)
        # Every retry is the same message: same id, same body.
        tries = receiver.received("/failing")
        assert [r.id for r in tries] == [delivery_id] * 4
        assert len({r.body for r in tries}) == 1
        assert all(r.verify(failing["secret"])["type"] == "webhook:test" for r in tries)

        disabled = (await api.get(f"/webhooks/{failing['id']}")).json()
        assert disabled["is_active"] is False
        assert disabled["disabled_reason"] == "disabled after 4 failed attempts (last: HTTP 500)"
        assert disabled["updated_at"] > failing["updated_at"]

        # The environment's other webhooks hear about it (those that subscribe to it).
        await drain(dispatcher)
        (notice,) = receiver.received("/healthy")
        event = notice.verify(healthy["secret"])
        assert event["type"] == "webhook:disabled"
        assert event["data"]["id"] == failing["id"]
        assert event["data"]["url"] == receiver.url + "/failing"
        assert event["data"]["is_active"] is False
        assert event["data"]["disabled_reason"] == disabled["disabled_reason"]
        assert "secret" not in event["data"]
        assert receiver.received("/fussy") == []
        assert fussy["id"] not in str(event)
        assert len(receiver.received("/failing")) == 4, "nothing more goes to a disabled webhook"

        # A disabled webhook gets no new events and refuses test sends.
        await api.client.patch(
            f"/integrated-accounts/{api.accounts['default']}",
            json={"name": "while disabled"},
            headers=api.auth(),
        )
        refused = await api.client.post(f"/webhooks/{failing['id']}/test", headers=api.auth())
        assert refused.status_code == 409
        assert "PATCH is_active=true" in refused.json()["message"]
        await drain(dispatcher)
        assert len(receiver.received("/failing")) == 4
        assert receiver.types("/healthy") == ["integrated_account:updated", "webhook:disabled"]

        # The endpoint is fixed and the webhook re-enabled: deliveries flow again.
        receiver.status["/failing"] = 200
        enabled = await api.client.patch(
            f"/webhooks/{failing['id']}", json={"is_active": True}, headers=api.auth()
        )
        assert enabled.status_code == 200
        assert enabled.json()["is_active"] is True
        assert enabled.json()["disabled_reason"] is None
        again = await api.client.post(f"/webhooks/{failing['id']}/test", headers=api.auth())
        assert again.status_code == 202
        await drain(dispatcher)
        fresh = receiver.received("/failing")[4:]
        assert [r.id for r in fresh] == [again.json()["id"]]
        states = {d["id"]: d["status"] for d in await deliveries(api, failing["id"])}
        assert states == {delivery_id: "failed", again.json()["id"]: "succeeded"}


async def test_unreachable_endpoint_counts_as_a_failed_attempt(
    database_url: str, data_dir: Path
) -> None:
    async with hook_world(database_url, data_dir, webhook_max_attempts=1) as (api, dispatcher):
        # Port 9 on loopback: nothing listens, the connection is refused at once.
        hook = await create_hook(api, "http://127.0.0.1:9/nothing")
        await api.client.post(f"/webhooks/{hook['id']}/test", headers=api.auth())
        assert await dispatcher.dispatch_once() == 1
        (delivery,) = await deliveries(api, hook["id"])
        assert delivery["status"] == "failed"
        assert delivery["last_status_code"] is None
        (attempt,) = delivery["attempt_log"]
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("ConnectError")
        assert (await api.get(f"/webhooks/{hook['id']}")).json()["is_active"] is False


async def test_deliveries_verify_with_the_original_secret_after_key_rotation(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with hook_world(database_url, data_dir) as (api, _):
        hook = await create_hook(api, receiver.url + "/rotated")
        runtime = api.world.runtime
        async with runtime.db.reader() as session:
            before = await session.scalar(SECRET_OF, {"id": hook["id"]})
        old_key = runtime.key.key
        new_key = await rotate_keys(runtime)
        assert new_key != old_key
        async with runtime.db.reader() as session:
            after = await session.scalar(SECRET_OF, {"id": hook["id"]})
        assert after != before, "re-wrapped under the new key"
        assert new_key.key_id in after
        queued = await api.client.post(f"/webhooks/{hook['id']}/test", headers=api.auth())
        assert queued.status_code == 202

    # The next process starts with the new key file and signs with the same secret.
    settings = Settings(data_dir=data_dir, database_url=database_url, allow_private_webhooks=True)
    restarted = await open_runtime(settings)
    dispatcher = WebhookDispatcher(restarted)
    try:
        assert restarted.key.key == new_key
        assert await drain(dispatcher) == 1
    finally:
        await dispatcher.aclose()
        await restarted.close()
    (request,) = receiver.received("/rotated")
    assert request.id == queued.json()["id"]
    assert request.verify(hook["secret"])["type"] == "webhook:test"
