"""Webhook endpoints: create (secret shown once, stored encrypted), validation, environment
scoping, update, delete and paging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from tests.support.api import api_world
from unimeter.db.models import WebhookAttempt, WebhookDelivery
from unimeter.kit.crypto import decrypt

from .receiver import Receiver
from .support import create_hook, deliveries, drain, hook_world

# A global address given as a literal: accepted without DNS, never contacted here.
PUBLIC_URL = "https://93.184.216.34/hooks/unimeter"
WEBHOOK_FIELDS = {
    "id", "url", "event_types", "is_active", "disabled_reason", "created_at", "updated_at",
}  # fmt: skip


async def test_secret_is_shown_once_and_stored_only_encrypted(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        created = await api.client.post(
            "/webhooks",
            json={"url": PUBLIC_URL + "/", "event_types": ["sync_run:completed"] * 2},
            headers=api.auth(),
        )
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook.pop("secret")
        assert secret.startswith("whsec_")
        assert len(secret) > len("whsec_") + 40, "32 random bytes, base64"
        assert set(hook) == WEBHOOK_FIELDS
        assert hook["url"] == PUBLIC_URL, "normalised without the trailing slash"
        assert hook["event_types"] == ["sync_run:completed"], "deduplicated"
        assert hook["is_active"] is True
        assert hook["disabled_reason"] is None

        fetched = await api.get(f"/webhooks/{hook['id']}")
        listed = await api.get("/webhooks")
        for response in (fetched, listed):
            assert response.status_code == 200
            assert secret not in response.text
            assert "secret" not in response.text
        assert fetched.json() == hook
        assert listed.json()["result"] == [hook]

        # A second webhook gets its own secret.
        other = await create_hook(api, PUBLIC_URL + "/2")
        assert other["secret"].startswith("whsec_")
        assert other["secret"] != secret

        async with api.world.runtime.db.reader() as session:
            stored = (
                await session.execute(
                    text("SELECT secret FROM webhooks WHERE id = :id"), {"id": hook["id"]}
                )
            ).scalar_one()
        assert secret not in stored
        assert secret.removeprefix("whsec_") not in stored
        assert stored.startswith("v1."), "an envelope-encrypted token"
        # Bound to its row: it opens with the webhook id as associated data, and only so.
        key = api.world.runtime.key.key
        assert decrypt(key, stored, aad=hook["id"]) == secret


async def test_urls_are_checked(database_url: str, data_dir: Path) -> None:
    # Private base URLs are allowed here (the world links accounts on loopback); private
    # webhook URLs need their own opt-in (with it, every test in test_delivery.py sends to
    # 127.0.0.1).
    async with api_world(
        database_url, data_dir, synced=False, allow_private_urls=True, allow_private_webhooks=False
    ) as api:
        for url in ("ftp://93.184.216.34/x", "file:///etc/passwd", "not a url", "https://"):
            response = await api.client.post("/webhooks", json={"url": url}, headers=api.auth())
            assert response.status_code == 400, url
            body = response.json()
            assert body == {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "url: the URL must be http(s)://host[:port][/path]",
            }, url
        with_password = await api.client.post(
            "/webhooks", json={"url": "https://u:p@93.184.216.34/x"}, headers=api.auth()
        )
        assert with_password.status_code == 400
        assert "credentials" in with_password.json()["message"]

        private = (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://hooks.localhost/x",
            "http://10.1.2.3/x",
            "http://[::1]:9/x",
        )
        for url in private:
            response = await api.client.post("/webhooks", json={"url": url}, headers=api.auth())
            assert response.status_code == 400, url
            body = response.json()
            assert body["statusCode"] == 400
            assert body["error"] == "Bad Request"
            assert body["message"].startswith("url: ")
            assert "UNIMETER_ALLOW_PRIVATE_WEBHOOKS=1" in body["message"], url
        metadata = await api.client.post(
            "/webhooks", json={"url": "http://169.254.169.254/latest/meta-data"}, headers=api.auth()
        )
        assert metadata.status_code == 400
        assert "never allowed" in metadata.json()["message"]  # no opt-in allows it

        hook = await create_hook(api, PUBLIC_URL)
        moved = await api.client.patch(
            f"/webhooks/{hook['id']}", json={"url": "http://127.0.0.1:9/x"}, headers=api.auth()
        )
        assert moved.status_code == 400
        assert "UNIMETER_ALLOW_PRIVATE_WEBHOOKS" in moved.json()["message"]
        assert (await api.get(f"/webhooks/{hook['id']}")).json()["url"] == PUBLIC_URL
        assert len((await api.get("/webhooks")).json()["result"]) == 1, "nothing else stored"


async def test_request_validation(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        bad_bodies: tuple[dict[str, Any], ...] = (
            {"url": PUBLIC_URL, "event_types": ["sync_run:exploded"]},
            {"url": PUBLIC_URL, "event_types": "sync_run:completed"},
            {"url": PUBLIC_URL, "is_active": "yes"},
            {"url": PUBLIC_URL, "secret": "whsec_mine"},
            {"event_types": []},
        )
        for body in bad_bodies:
            response = await api.client.post("/webhooks", json=body, headers=api.auth())
            # The API answers every malformed request body with 400 and its envelope (see
            # unimeter.api.errors); 422 is kept for well-formed requests it cannot process.
            assert response.status_code == 400, body
            error = response.json()
            assert error["statusCode"] == 400
            assert error["error"] == "Bad Request"
            assert error["message"]
            assert error["details"]["failures"], body
        unknown = await api.client.post(
            "/webhooks",
            json={"url": PUBLIC_URL, "event_types": ["sync_run:exploded"]},
            headers=api.auth(),
        )
        assert "event_types" in unknown.json()["message"]
        assert (await api.get("/webhooks")).json()["result"] == []

        hook = await create_hook(api, PUBLIC_URL)
        patched = await api.client.patch(
            f"/webhooks/{hook['id']}", json={"event_types": ["nope"]}, headers=api.auth()
        )
        assert patched.status_code == 400
        assert (await api.get(f"/webhooks/{hook['id']}")).json()["event_types"] == []
        unauthenticated = await api.client.get("/webhooks")
        assert unauthenticated.status_code == 401


async def test_another_environment_cannot_see_or_touch_a_webhook(
    database_url: str, data_dir: Path
) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        hook = await create_hook(api, PUBLIC_URL)
        path = f"/webhooks/{hook['id']}"
        other = api.auth("other")
        attempts = [
            await api.client.get(path, headers=other),
            await api.client.patch(path, json={"is_active": False}, headers=other),
            await api.client.get(path + "/deliveries", headers=other),
            await api.client.post(path + "/test", headers=other),
            await api.client.delete(path, headers=other),
        ]
        for response in attempts:
            assert response.status_code == 404, response.request.method
            assert response.json() == {
                "statusCode": 404,
                "error": "Not Found",
                "message": "webhook not found",
            }
        assert (await api.get("/webhooks", env="other")).json()["result"] == []
        # Untouched, and no test event was queued for it.
        assert (await api.get(path)).json() == {k: v for k, v in hook.items() if k != "secret"}
        assert await deliveries(api, hook["id"]) == []


async def test_update_and_delete(database_url: str, data_dir: Path, receiver: Receiver) -> None:
    async with hook_world(database_url, data_dir) as (api, dispatcher):
        hook = await create_hook(api, receiver.url + "/a", event_types=["sync_run:failed"])
        path = f"/webhooks/{hook['id']}"
        patched = await api.client.patch(
            path,
            json={
                "url": receiver.url + "/b",
                "event_types": ["webhook:test", "integrated_account:updated", "webhook:test"],
            },
            headers=api.auth(),
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert body["url"] == receiver.url + "/b"
        assert body["event_types"] == ["integrated_account:updated", "webhook:test"]
        assert body["updated_at"] >= hook["updated_at"]
        assert body["created_at"] == hook["created_at"]
        assert (await api.get(path)).json() == body

        # An empty PATCH changes nothing; event_types=[] means every event.
        same = await api.client.patch(path, json={}, headers=api.auth())
        assert {k: v for k, v in same.json().items() if k != "updated_at"} == {
            k: v for k, v in body.items() if k != "updated_at"
        }
        everything = await api.client.patch(path, json={"event_types": []}, headers=api.auth())
        assert everything.json()["event_types"] == []

        # Deliveries go to the new URL.
        assert (await api.client.post(path + "/test", headers=api.auth())).status_code == 202
        await drain(dispatcher)
        assert receiver.received("/a") == []
        assert [r.type for r in receiver.received("/b")] == ["webhook:test"]

        deleted = await api.client.delete(path, headers=api.auth())
        assert deleted.status_code == 200
        assert deleted.json()["id"] == hook["id"]
        assert "secret" not in deleted.json()
        assert (await api.get(path)).status_code == 404
        assert (await api.get(path + "/deliveries")).status_code == 404
        assert (await api.client.patch(path, json={}, headers=api.auth())).status_code == 404
        assert (await api.client.delete(path, headers=api.auth())).status_code == 404
        assert (await api.get("/webhooks")).json()["result"] == []
        # Its delivery log went with it, and nothing more is sent to it.
        async with api.world.runtime.db.reader() as session:
            assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
            assert await session.scalar(select(func.count()).select_from(WebhookAttempt)) == 0
        await api.client.patch(
            f"/integrated-accounts/{api.accounts['default']}",
            json={"name": "after the delete"},
            headers=api.auth(),
        )
        assert await drain(dispatcher) == 0
        assert len(receiver.received()) == 1


async def test_list_pages_one_at_a_time(database_url: str, data_dir: Path) -> None:
    async with api_world(database_url, data_dir, synced=False) as api:
        made = [(await create_hook(api, f"{PUBLIC_URL}/{n}"))["id"] for n in range(3)]
        elsewhere = (await create_hook(api, PUBLIC_URL + "/elsewhere", env="other"))["id"]
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 1, **({"next_cursor": cursor} if cursor else {})}
            response = await api.get("/webhooks", **params)
            assert response.status_code == 200, response.text
            page = response.json()
            assert page["result_count"] == len(page["result"]) == 1
            assert "secret" not in page["result"][0]
            seen.append(page["result"][0]["id"])
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert pages < 10, "the cursor never ran out"
        assert seen == made, "oldest first, each once, only this environment's"
        everything = (await api.get("/webhooks", limit=1000)).json()
        assert [w["id"] for w in everything["result"]] == made
        assert everything["next_cursor"] is None
        # A cursor carries a position, not a scope: replayed by another environment it
        # still lists only that environment's webhooks.
        first = (await api.get("/webhooks", limit=1)).json()
        replay = await api.get("/webhooks", env="other", next_cursor=first["next_cursor"])
        assert replay.status_code == 200
        assert [w["id"] for w in replay.json()["result"]] == [elsewhere]
        # A cursor from another list is refused.
        account_page = (await api.get("/integrated-accounts", limit=1)).json()
        assert (
            account_page["next_cursor"] is None
            or (await api.get("/webhooks", next_cursor=account_page["next_cursor"])).status_code
            == 400
        )
        assert (await api.get("/webhooks", next_cursor="garbage")).status_code == 400
