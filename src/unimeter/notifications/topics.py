"""What a channel can subscribe to, and which published events each topic hears."""

from __future__ import annotations

from typing import Literal, get_args

Topic = Literal["anomaly", "needs_reauth", "sync_failed", "digest"]
TOPICS: tuple[str, ...] = get_args(Topic)

# The events (``webhooks/events.py``) that become a message; the digest is scheduled.
EVENT_TOPICS: dict[str, str] = {
    "usage:anomaly_detected": "anomaly",
    "integrated_account:authentication_error": "needs_reauth",
    "sync_run:failed": "sync_failed",
}

DESCRIPTIONS: dict[str, str] = {
    "anomaly": "A usage anomaly whose excess cost reaches the channel's minimum impact.",
    "needs_reauth": "The vendor rejected an account's key; syncing stopped until new ones.",
    "sync_failed": "A sync run failed.",
    "digest": "Weekly: spend by tool and team against the week before, reclaimable seats, "
    "open anomalies.",
}
