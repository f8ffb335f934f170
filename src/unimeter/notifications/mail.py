"""E-mail through SMTP: the message (stdlib ``email``, a plain and an HTML part) and the
send (``aiosmtplib``: STARTTLS, implicit TLS or plain, with a login when one is set)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from . import render
from .errors import SendError


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls, tls, none
    username: str | None
    sender: str
    recipients: tuple[str, ...]

    @classmethod
    def of(cls, settings: dict[str, Any]) -> SmtpSettings:
        return cls(
            host=str(settings["host"]),
            port=int(settings["port"]),
            security=str(settings.get("security") or "starttls"),
            username=settings.get("username") or None,
            sender=str(settings["sender"]),
            recipients=tuple(settings["recipients"]),
        )


def build(msg: render.Message, smtp: SmtpSettings, delivery_id: str) -> EmailMessage:
    """The e-mail for ``msg``; its Message-ID comes from the delivery, so a copy sent twice
    after a crash carries the same id (mail clients fold them)."""
    email = EmailMessage()
    email["Subject"] = render.email_subject(msg)
    email["From"] = smtp.sender
    email["To"] = ", ".join(smtp.recipients)
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = smtp.sender.rsplit("@", 1)[-1]
    email["Message-ID"] = make_msgid(idstring=delivery_id, domain=domain)
    email.set_content(render.email_text(msg))
    email.add_alternative(render.email_html(msg), subtype="html")
    return email


async def send(
    smtp: SmtpSettings,
    password: str | None,
    email: EmailMessage,
    *,
    timeout: float,
    tls_context: ssl.SSLContext | None = None,
) -> None:
    """Hand ``email`` to the SMTP server; raises :class:`SendError` when it is refused."""
    try:
        await aiosmtplib.send(
            email,
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=password if smtp.username else None,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=timeout,
            tls_context=tls_context,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        # The server's reply and the exception's type; neither carries the password.
        raise SendError(f"{type(exc).__name__}: {_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    """The server's reply code and text when it answered (``451 try again later``)."""
    message = str(getattr(exc, "message", None) or exc)
    code = getattr(exc, "code", None)
    return (f"{code} {message}" if code is not None else message)[:200]
