"""The catalogue of events a webhook can subscribe to."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal[
    "integrated_account:created",
    "integrated_account:active",
    "integrated_account:updated",
    "integrated_account:deleted",
    "integrated_account:authentication_error",
    "integrated_account:reactivated",
    "sync_run:started",
    "sync_run:completed",
    "sync_run:failed",
    "usage:anomaly_detected",
    "webhook:disabled",
    "webhook:test",
]

EVENT_TYPES: tuple[str, ...] = get_args(EventType)

DESCRIPTIONS: dict[str, str] = {
    "integrated_account:created": "An account was linked (its credentials were validated).",
    "integrated_account:active": "An account is ready: syncs and API calls will run.",
    "integrated_account:updated": "An account's name, tenant, cadence or credentials changed.",
    "integrated_account:deleted": "An account and all its data were removed (data: {id}).",
    "integrated_account:authentication_error": (
        "The vendor rejected the stored key (401); syncing stopped until new credentials."
    ),
    "integrated_account:reactivated": "An account needing re-auth is active again.",
    "sync_run:started": "A sync run started.",
    "sync_run:completed": "A sync run succeeded; data carries added and updated counts.",
    "sync_run:failed": "A sync run failed; data carries the error.",
    "usage:anomaly_detected": "Usage deviated from its baseline (analytics).",
    "webhook:disabled": "Another webhook of the environment was disabled after failures.",
    "webhook:test": "Sent by POST /webhooks/{id}/test.",
}
