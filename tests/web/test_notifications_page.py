"""The dashboard's notifications page: the environment's channels with their latest
messages, a secret shown as its hint only."""

from __future__ import annotations

from pathlib import Path

from tests.notifications.support import create_channel, drain, notify_world
from tests.webhooks.receiver import Receiver


async def test_the_page_lists_channels_and_their_messages(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    async with notify_world(database_url, data_dir) as (api, dispatcher):
        mine = await create_channel(
            api, name="finance alerts", kind="slack", topics=["anomaly", "digest"],
            slack={"webhook_url": receiver.url + "/services/pageSecretQ1"},
            min_anomaly_impact="40",
        )  # fmt: skip
        await create_channel(
            api, name="their channel", kind="slack", topics=["digest"], env="other",
            slack={"webhook_url": receiver.url + "/x"},
        )  # fmt: skip
        await api.client.post(f"/notification-channels/{mine['id']}/test", headers=api.auth())
        await drain(dispatcher)
        await api.client.post("/app/login", data={"token": api.tokens["default"]})
        page = await api.client.get("/app/notifications")
    assert page.status_code == 200
    assert "finance alerts" in page.text and "$40 excess cost" in page.text
    assert mine["secret_hint"] in page.text and "pageSecretQ1" not in page.text
    assert "<td>test</td><td>sent</td>" in page.text
    assert "their channel" not in page.text, "another environment's channel"
    assert (
        'href="/app/notifications?' in page.text
        and 'aria-current="page">Notifications' in page.text
    )
