"""What every connector offers the rest of unimeter, in vendor-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Why credentials were refused, in terms a person can act on: a wrong or revoked key, or a
# working key without the admin access unimeter needs.
RejectionReason = Literal["invalid", "not_admin"]


class CredentialsRejectedError(Exception):
    """The vendor says the credentials are invalid (or lack the needed access)."""

    def __init__(self, message: str, *, reason: RejectionReason = "invalid") -> None:
        super().__init__(message)
        self.reason: RejectionReason = reason


class VendorUnavailableError(Exception):
    """The vendor could not be reached or answered with errors; nothing was decided."""


@dataclass(frozen=True, slots=True)
class Validation:
    """What a successful credentials check learned about the linked workspace."""

    members: int
