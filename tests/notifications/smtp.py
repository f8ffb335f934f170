"""A local SMTP server for tests (aiosmtpd on a real loopback port): it records every
message, can check a login, and can refuse the next messages with a temporary error.

It is the e-mail tests' only fake and sits at the SMTP seam: unimeter's dispatcher speaks
real SMTP to it.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USER, PASSWORD = "mailer", "s3cret-smtp-password"


class Mailbox:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.refuse_next = 0
        self.logins: list[str] = []
        self._lock = threading.Lock()
        self._messages: list[tuple[Envelope, EmailMessage]] = []

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [m for _, m in self._messages]

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return [e for e, _ in self._messages]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        with self._lock:
            if self.refuse_next:
                self.refuse_next -= 1
                return "451 4.3.0 try again later"
            data = envelope.original_content or b""
            parsed = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            self._messages.append((envelope, parsed))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            with self._lock:
                self.logins.append(USER)
        return AuthResult(success=ok)


def _free_port() -> int:
    # aiosmtpd's controller checks its server by connecting to the port it was given, so it
    # cannot take port 0: ask the OS for a free one first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(
        box,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=box.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()
