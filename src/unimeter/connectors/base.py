"""What every connector offers the rest of unimeter, in vendor-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass


class CredentialsRejectedError(Exception):
    """The vendor says the credentials are invalid (or lack the needed access)."""


class VendorUnavailableError(Exception):
    """The vendor could not be reached or answered with errors; nothing was decided."""


@dataclass(frozen=True, slots=True)
class Validation:
    """What a successful credentials check learned about the linked workspace."""

    members: int
