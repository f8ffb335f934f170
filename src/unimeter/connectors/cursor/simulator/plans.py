"""Cursor's plan gates: which endpoints a team without Enterprise is refused.

Cursor documents the Admin, Analytics and AI Code Tracking APIs for Enterprise teams and
marks some endpoints Enterprise-only (cursor-api.md §1.3). A team on a lower plan still
reads its members, daily usage, spend and usage events, and gets a 403 with this body
everywhere else.
"""

from __future__ import annotations

from typing import Literal

Plan = Literal["enterprise", "team"]
PLANS: tuple[Plan, ...] = ("enterprise", "team")

ENTERPRISE_REQUIRED = {"error": "Forbidden", "message": "Enterprise access required"}

# Path prefixes a team plan is refused: spend limits, member removal, billing groups, the
# audit log, and the whole Analytics and AI Code Tracking families.
_ENTERPRISE_ONLY = (
    "/teams/audit-logs",
    "/teams/groups",
    "/teams/user-spend-limit",  # and the bulk /teams/user-spend-limits
    "/teams/remove-member",
    "/analytics/",
)


def refused(plan: Plan, path: str) -> bool:
    """Whether a team on ``plan`` gets Cursor's 403 for ``path``."""
    return plan != "enterprise" and path.startswith(_ENTERPRISE_ONLY)
