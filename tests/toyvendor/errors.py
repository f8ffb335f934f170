"""Toy AI's answers as exceptions; the connector translates them into unimeter's."""

from __future__ import annotations


class ToyError(Exception):
    """A request failed; ``status`` is None when no HTTP answer arrived."""

    def __init__(self, message: str, *, status: int | None = None, kind: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind  # the ``error.type`` of Toy's body: ``permission_error``, …


class ToyAuthError(ToyError):
    """401: the key or the organization id is wrong, or the key was revoked."""


class ToyForbiddenError(ToyError):
    """403: a key without admin access (``permission_error``) or a plan without the
    endpoint (``plan_error``)."""


class ToyNotFoundError(ToyError):
    """404: the endpoint does not exist for this organization."""
