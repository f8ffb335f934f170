"""Provisioning audit: findings about who holds a seat or a role, each with its evidence."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from unimeter.kit.money import dollars
from unimeter.kit.times import iso
from unimeter.runtime import Runtime

from . import chargeback, coverage, repository
from . import settings as account_settings
from .coverage import Note
from .service import Scope, seats
from .teams import TeamMap


@dataclass(frozen=True, slots=True)
class Finding:
    type: str
    integrated_account_id: str
    email: str
    user_id: str | None
    evidence: dict[str, Any] = field(default_factory=dict)


KINDS = (
    "missing_from_directory",
    "offboarded_with_seat",
    "admin_not_allowed",
    "usage_after_removal",
    "never_active",
)


# Findings that compare the members with an uploaded directory.
DIRECTORY_KINDS = ("missing_from_directory", "offboarded_with_seat")


@dataclass(frozen=True, slots=True)
class AuditReport:
    findings: list[Finding]
    # What could not be checked, and why (no audit log, no directory upload).
    notes: list[Note]
    # Kinds no account of the scope could be checked for: their counts are unknown, not 0.
    unchecked: frozenset[str]


async def audit(runtime: Runtime, scope: Scope, as_of: dt.date) -> AuditReport:
    maps = await chargeback.team_maps(runtime, scope, "directory")
    findings = await _findings(runtime, scope, as_of, maps)
    notes = coverage.directory_notes(maps, DIRECTORY_KINDS)
    notes += coverage.removal_notes(await coverage.gaps(runtime, scope))
    notes += coverage.record_notes(runtime, scope)
    accounts = set(scope.account_ids)
    unchecked = frozenset(
        kind
        for kind in KINDS
        if accounts <= {n.integrated_account_id for n in notes if kind in n.affects}
    )
    return AuditReport(findings, notes, unchecked)


async def _findings(
    runtime: Runtime, scope: Scope, as_of: dt.date, maps: dict[str, TeamMap]
) -> list[Finding]:
    report = await seats(runtime, scope, as_of, idle_days=30)
    settings = await account_settings.for_accounts(runtime, scope.account_ids)
    findings: list[Finding] = []
    for seat in report.seats:
        h = seat.holder
        found = maps[h.account_id].at(h.email, as_of)
        if maps[h.account_id] and found is None:
            findings.append(Finding("missing_from_directory", h.account_id, h.email, h.user_id,
                                    {"as_of": as_of.isoformat()}))  # fmt: skip
        elif found is not None and found.status == "offboarded":
            evidence = {"directory_status": "offboarded", "team": found.team,
                        "valid_from": _day(found.first_day), "last_active": _day(seat.last_active)}  # fmt: skip
            findings.append(
                Finding("offboarded_with_seat", h.account_id, h.email, h.user_id, evidence)
            )
        allowed = settings[h.account_id].allowed_admins
        admin_roles = runtime.registry.get(_integration(scope, h.account_id)).admin_roles
        if allowed is not None and h.role in admin_roles and h.email.lower() not in allowed:
            findings.append(Finding("admin_not_allowed", h.account_id, h.email, h.user_id,
                                    {"role": h.role, "allowed_admins": len(allowed)}))  # fmt: skip
        if seat.last_active is None:
            findings.append(Finding("never_active", h.account_id, h.email, h.user_id,
                                    {"as_of": as_of.isoformat()}))  # fmt: skip
    findings += await _after_removal(runtime, scope)
    return sorted(findings, key=lambda f: (KINDS.index(f.type), f.integrated_account_id, f.email))


async def _after_removal(runtime: Runtime, scope: Scope) -> list[Finding]:
    async with runtime.db.scanner() as session:
        usage = await repository.usage_after_removal(session, scope.account_ids)
        removed = await repository.removed_members(session, scope.account_ids)
    out = []
    for u in usage:
        user_id, email, removed_at = removed.get(u.member_id or -1, (None, u.email or "", None))
        evidence = {
            "removed_at": iso(removed_at), "events": u.records,
            "charged": dollars(u.charged_cents_e6), "first_event_at": iso(u.first_ms),
            "last_event_at": iso(u.last_ms),
        }  # fmt: skip
        out.append(Finding("usage_after_removal", u.account_id, email, user_id, evidence))
    return out


def _integration(scope: Scope, account_id: str) -> str:
    return next(a.integration for a in scope.accounts if a.id == account_id)


def _day(day: dt.date | None) -> str | None:
    return None if day is None or day == dt.date.min else day.isoformat()
