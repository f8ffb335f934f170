"""Notification channels over the API: CRUD per environment, secrets encrypted and never
returned, the outbound URL policy, clear errors for bad settings."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.webhooks.receiver import Receiver

from .smtp import PASSWORD, mailbox
from .support import create_channel, email_channel, notify_world, slack_channel

SECRETS = text("SELECT secret, settings FROM notification_channels WHERE id = :id")


async def test_channels_are_created_listed_updated_and_removed_per_environment(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with notify_world(database_url, data_dir) as (api, _):
        url = receiver.url + "/T000/B000/abcdefsecretXYZ9"
        slack = await slack_channel(
            api, receiver, "/T000/B000/abcdefsecretXYZ9", ["anomaly", "digest"],
            min_anomaly_impact="25.50",
        )  # fmt: skip
        with mailbox() as box:
            mail = await email_channel(api, box, ["needs_reauth", "sync_failed"])
        listed = (await api.get("/notification-channels")).json()
        other = (await api.get("/notification-channels", env="other")).json()
        cross = await api.get(f"/notification-channels/{slack['id']}", env="other")
        renamed = await api.client.patch(
            f"/notification-channels/{mail['id']}",
            json={"name": "ops mail", "email": {"port": 2525}, "is_active": False},
            headers=api.auth(),
        )
        async with api.world.runtime.db.reader() as session:
            stored = {
                c["id"]: (await session.execute(SECRETS, {"id": c["id"]})).one()
                for c in (slack, mail)
            }
        removed = await api.client.delete(
            f"/notification-channels/{slack['id']}", headers=api.auth()
        )
        gone = await api.get(f"/notification-channels/{slack['id']}")

    assert slack["kind"] == "slack" and slack["topics"] == ["anomaly", "digest"]
    assert slack["min_anomaly_impact"] == "25.5"
    assert slack["settings"] == {}
    assert slack["secret_hint"].endswith("…XYZ9") and "abcdefsecret" not in slack["secret_hint"]
    assert mail["settings"]["recipients"] == ["finops@example.com", "cto@example.com"]
    assert "password" not in mail["settings"] and mail["secret_hint"] == "password set"
    assert [c["id"] for c in listed["result"]] == [slack["id"], mail["id"]]
    assert other["result"] == [] and cross.status_code == 404
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert (body["name"], body["is_active"], body["settings"]["port"]) == ("ops mail", False, 2525)
    assert body["settings"]["username"] == "mailer", "fields not given are kept"
    assert body["secret_hint"] == "password set", "the password is kept too"
    # At rest: ciphertext only, for the URL and for the password.
    for secret, settings in stored.values():
        assert secret and url not in secret and PASSWORD not in secret
        assert PASSWORD not in str(settings)
    for response in (listed, {"a": renamed.text}):
        assert "abcdefsecret" not in str(response) and PASSWORD not in str(response)
    assert removed.status_code == 200 and gone.status_code == 404


async def test_bad_settings_are_a_clear_400(database_url: str, data_dir: Path) -> None:
    async with notify_world(database_url, data_dir, allow_private_webhooks=False) as (api, _):
        attempts = {
            "private": {"kind": "slack", "slack": {"webhook_url": "http://127.0.0.1:9/hook"}},
            "metadata": {
                "kind": "email",
                "email": {"host": "169.254.169.254", "sender": "a@b.c", "recipients": ["d@e.f"]},
            },
            "mismatch": {"kind": "slack", "email": {"host": "smtp.example.com"}},
            "injection": {
                "kind": "email",
                "email": {
                    "host": "mx.example.com",
                    "sender": "a@b.c\r\nBcc: x@y.z",
                    "recipients": ["d@e.f"],
                },
            },
            "topic": {
                "kind": "slack",
                "slack": {"webhook_url": "https://hooks.example.com/x"},
                "topics": ["everything"],
            },
            "impact": {
                "kind": "slack",
                "slack": {"webhook_url": "https://hooks.example.com/x"},
                "min_anomaly_impact": "-3",
            },
        }
        answers = {}
        for case, fields in attempts.items():
            body = {"name": case, "topics": ["anomaly"], **fields}
            answers[case] = await api.client.post(
                "/notification-channels", json=body, headers=api.auth()
            )
        good = await create_channel(
            api, name="ok", kind="slack", topics=["digest"],
            slack={"webhook_url": "https://hooks.example.com/services/x"},
        )  # fmt: skip
        wrong_kind = await api.client.patch(
            f"/notification-channels/{good['id']}",
            json={"email": {"port": 25}},
            headers=api.auth(),
        )
    for case, response in answers.items():
        assert response.status_code in (400, 422), (case, response.text)
        envelope = response.json()
        assert envelope["statusCode"] == response.status_code and envelope["message"], case
    assert "UNIMETER_ALLOW_PRIVATE_WEBHOOKS" in answers["private"].json()["message"]
    assert "never allowed" in answers["metadata"].json()["message"]
    assert "min_anomaly_impact" in answers["impact"].json()["message"]
    assert wrong_kind.status_code == 400 and "slack" in wrong_kind.json()["message"]
