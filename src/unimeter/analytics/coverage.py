"""What an analysis could not compute, and why, so no answer hides a gap behind zeros.

A vendor may not offer an account every stream (one vendor keeps the audit log and billing
groups for Enterprise teams), and some inputs are ours to give (a directory upload). Each
gap becomes a :class:`Note` that the API, the CLI and the dashboard show with the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from unimeter.runtime import Runtime
from unimeter.sync.engine import capabilities

from .service import Scope
from .teams import TeamMap

AUDIT_LOG = "audit_log"
TEAMS = "teams"
USAGE_RECORDS = "usage_events"


@dataclass(frozen=True, slots=True)
class Note:
    code: str
    integrated_account_id: str
    message: str
    # Which parts of the answer it concerns (finding kinds, a grouping, a field).
    affects: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "integrated_account_id": self.integrated_account_id,
            "message": self.message,
            "affects": list(self.affects),
        }


# account -> what it lacks (a stream's ``provides``) -> what the vendor answered
Gaps = dict[str, dict[str, str]]


async def gaps(runtime: Runtime, scope: Scope) -> Gaps:
    """Per account, what the vendor refused it (the last sync's word; unknown is no gap)."""
    found = await capabilities.for_accounts(runtime, scope.accounts)
    return {
        account_id: {
            c.provides: c.reason or "refused by the vendor"
            for c in caps
            if c.status == "unavailable"
        }
        for account_id, caps in found.items()
    }


def removal_notes(found: Gaps) -> list[Note]:
    """Without the audit log, removal times are unknown: usage after removal is unchecked."""
    return [
        Note(
            "audit_log_unavailable",
            account_id,
            "The audit log is not available for this account "
            f"({lacks[AUDIT_LOG]}): removal times are unknown, so usage after removal "
            "cannot be checked.",
            ("usage_after_removal",),
        )
        for account_id, lacks in found.items()
        if AUDIT_LOG in lacks
    ]


def record_notes(runtime: Runtime, scope: Scope) -> list[Note]:
    """A vendor that reports usage only per day, with no individual usage records: whether
    usage came after a removal within a day is unknown, so it is not checked."""
    return [
        Note(
            "usage_records_unavailable",
            account.id,
            "This account's vendor reports usage per day, without individual usage records, "
            "so usage after removal cannot be checked.",
            ("usage_after_removal",),
        )
        for account in scope.accounts
        if not any(
            s.provides == USAGE_RECORDS for s in runtime.connector(account.integration).streams
        )
    ]


def directory_notes(maps: Mapping[str, TeamMap], kinds: tuple[str, ...]) -> list[Note]:
    """Checks against the directory need one: say so where none was uploaded."""
    return [
        Note(
            "no_directory",
            account_id,
            "No directory was uploaded for this account (PUT /directory), so "
            f"{' and '.join(k.replace('_', ' ') for k in kinds)} are not checked.",
            kinds,
        )
        for account_id, team_map in maps.items()
        if team_map.source != "directory" or not team_map
    ]


def team_notes(found: Gaps, maps: Mapping[str, TeamMap]) -> list[Note]:
    """An account with no team mapping at all: all its cost and people are unallocated."""
    return [
        Note(
            "no_team_mapping",
            account_id,
            "Billing groups are not available for this account "
            f"({found[account_id][TEAMS]}) and no directory was uploaded, so its people "
            "have no team: upload a directory (PUT /directory) to allocate them.",
            ("team", "cost_center"),
        )
        for account_id, team_map in maps.items()
        if team_map.source != "directory" and TEAMS in found.get(account_id, {})
    ]


def as_dicts(notes: list[Note]) -> list[dict[str, Any]]:
    return [n.as_dict() for n in notes]
