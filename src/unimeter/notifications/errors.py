"""What a sender raises when a message did not go out (retried by the dispatcher)."""

from __future__ import annotations


class SendError(Exception):
    """The channel refused or did not answer; the message (no secret in it) says why."""
