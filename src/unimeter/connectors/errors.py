"""The errors every connector raises, in vendor-neutral terms: one family, one base.

::

    ConnectorError                   base: the message is one line, safe to store and show
    │
    │  while linking (someone waits on the answer: the CLI, the Connect page, the API)
    ├── CredentialsRejectedError     the vendor refused the credentials (``reason`` says why)
    ├── VendorUnavailableError       the vendor could not be reached; nothing was decided
    │
    │  while syncing (the engine decides what happens to the run)
    └── SourceError                  a vendor failure that ends the run
        ├── SourceAuthError          the vendor rejected the stored credentials: reauthorise
        ├── SourceUnavailableError   the vendor could not be reached or kept failing: resume
        └── StreamUnavailableError   the account's plan lacks this stream (a 403 or 404)

A connector maps its client's own errors onto these inside its folder, so routes, the CLI
and the sync engine catch this family only and never learn a vendor's exception types.
"""

from __future__ import annotations

from typing import Literal

# Why credentials were refused, in terms a person can act on: a wrong or revoked key, or a
# working key without the admin access unimeter needs.
RejectionReason = Literal["invalid", "not_admin"]


class ConnectorError(Exception):
    """Base of every error a connector raises; its message names no secret."""


class CredentialsRejectedError(ConnectorError):
    """The vendor says the credentials are invalid (or lack the needed access)."""

    def __init__(self, message: str, *, reason: RejectionReason = "invalid") -> None:
        super().__init__(message)
        self.reason: RejectionReason = reason


class VendorUnavailableError(ConnectorError):
    """The vendor could not be reached or answered with errors; nothing was decided."""


class SourceError(ConnectorError):
    """A vendor failure that ends the run; the message is safe to store and show."""


class SourceAuthError(SourceError):
    """The vendor rejected the credentials: the account needs new ones."""


class SourceUnavailableError(SourceError):
    """The vendor could not be reached or kept failing; the next run resumes."""


class StreamUnavailableError(SourceError):
    """The vendor does not offer this stream to this account (its plan lacks it: a 403 or
    404); the message says what the vendor answered."""
