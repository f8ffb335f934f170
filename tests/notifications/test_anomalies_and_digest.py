"""Anomaly messages above a channel's minimum impact, stopped by an acknowledgement; the
weekly digest: the API's figures, queued once per channel and week, due on schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.analytics.test_anomalies import SPIKE_DAY_MS, _heaviest
from tests.support.api import KEYS
from tests.support.world import make_sim
from tests.webhooks.receiver import Receiver
from unimeter.analytics import digest as digest_figures
from unimeter.notifications import digest
from unimeter.sync.service import sync_account

from .smtp import mailbox
from .support import deliveries, drain, email_channel, notify_world, slack_bodies, slack_channel


async def test_anomalies_reach_channels_above_their_threshold_until_acknowledged(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    sim = make_sim(api_keys=KEYS)
    victim = _heaviest(sim)
    sim.inject_spike(KEYS[0], victim, SPIKE_DAY_MS, factor=20)
    async with notify_world(database_url, data_dir, sim=sim) as (api, dispatcher):
        low = await slack_channel(api, receiver, "/low", ["anomaly"])
        high = await slack_channel(
            api, receiver, "/high", ["anomaly"], min_anomaly_impact="1000000"
        )
        account = api.accounts["default"]
        await sync_account(api.world.runtime, account)
        found = (await api.get("/analytics/anomalies", integrated_account_id=account)).json()
        anomalies = found["result"]
        acked = anomalies[0]
        answer = await api.client.patch(
            f"/analytics/anomalies/{acked['id']}",
            json={"status": "acknowledged"},
            headers=api.auth(),
        )
        assert answer.status_code == 200, answer.text
        await drain(dispatcher)
        queued = await deliveries(api, low["id"])
        preview = (await api.get("/notifications/digest")).json()

    assert anomalies, "the injected spike was detected"
    assert receiver.received("/high") == [], "below the channel's minimum impact: not sent"
    by_subject = {d["subject"]: d for d in queued}
    assert set(by_subject) == {a["id"] for a in anomalies}
    assert by_subject[acked["id"]]["status"] == "cancelled", "acknowledged before it went"
    sent = slack_bodies(receiver, "/low")
    assert len(sent) == len(anomalies) - 1
    for body in sent:
        assert body["text"].startswith("Anomaly: ") and victim in body["text"]
        assert "Excess cost $" in str(body["blocks"])
    assert acked["id"] not in str(sent)
    # The digest lists open anomalies only: the acknowledged one is no longer a reminder.
    assert acked["id"] not in {a["id"] for a in preview["anomalies"]["top"]}
    assert preview["anomalies"]["open"] == len(anomalies) - 1
    assert high["id"]


async def test_the_weekly_digest_carries_the_apis_figures_once_per_channel_and_week(
    database_url: str, data_dir: Path, receiver: Receiver
) -> None:
    with mailbox() as box:
        async with notify_world(database_url, data_dir, synced=True) as (api, dispatcher):
            slack = await slack_channel(api, receiver, "/digest", ["digest"])
            await email_channel(api, box, ["digest", "anomaly"])
            await slack_channel(api, receiver, "/alerts-only", ["anomaly"])
            await slack_channel(api, receiver, "/elsewhere", ["digest"], env="other")
            preview = (await api.get("/notifications/digest")).json()
            start, end = preview["start_date"], preview["end_date"]
            charged = await api.get(
                "/analytics/chargeback", integrated_account_id=api.accounts["default"],
                start_date=start, end_date=end, granularity="total",
            )  # fmt: skip
            first = await api.client.post("/notifications/digest", headers=api.auth())
            again = await api.client.post("/notifications/digest", headers=api.auth())
            runtime = api.world.runtime
            week = digest.Week.parse(preview["week"])
            by_schedule = await digest.queue_week(runtime, digest_figures.build, week)
            await drain(dispatcher)
            logged = await deliveries(api, slack["id"])

    assert first.json() == {"week": preview["week"], "queued": 2}
    assert again.json()["queued"] == 0, "once per channel and week"
    assert by_schedule == 1, "the scheduler adds only the other environment's channel"
    assert dt.date.fromisoformat(start).weekday() == 0
    assert (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days == 7
    assert preview["spend"]["charged"] == charged.json()["totals"]["cost"]["charged"]
    assert float(preview["spend"]["charged"]) > 0, "a synced week has spend"
    assert preview["by_tool"] and preview["by_team"]
    assert set(preview["seats"]) == {"provisioned", "reclaimable", "reclaimable_monthly"}
    (body,) = slack_bodies(receiver, "/digest")
    assert body["text"] == f"Weekly digest {start} to {end}"
    assert f"${preview['spend']['charged']}" in str(body["blocks"])
    assert "Spend by tool" in str(body["blocks"])
    assert receiver.received("/alerts-only") == []
    assert len(receiver.received("/elsewhere")) == 1
    (email,) = box.messages()
    html = email.get_body(("html",))
    assert html is not None and "Spend by tool" in html.get_content()
    assert [d["topic"] for d in logged] == ["digest"] and logged[0]["status"] == "sent"


def test_a_digest_is_due_from_its_weekday_and_hour() -> None:
    def ms(text: str) -> int:
        return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)

    # Wednesday 2026-12-09; the week before ran Monday 11-30 to Sunday 12-06.
    assert digest.due_week(ms("2026-12-09T12:00"), weekday=2, hour=13) is None
    due = digest.due_week(ms("2026-12-09T13:00"), weekday=2, hour=13)
    assert due is not None and due.start == dt.date(2026, 11, 30)
    assert due.end == dt.date(2026, 12, 7) and due.key == "digest:2026-W49"
    assert digest.due_week(ms("2026-12-13T23:59"), weekday=0, hour=8) == due
    assert digest.Week.parse("2026-W49") == due
    assert digest.last_week(dt.date(2026, 12, 7)) == due
