"""Sending the notification outbox: claim due deliveries, send each to Slack or SMTP,
record the outcome in the same step that marks it sent.

Each delivery goes out once: a sent row is never claimed again, so a dispatcher stopped
and restarted on the same store resumes the pending rows and leaves the sent ones. The one
window for a second copy is a process that dies after the channel accepted a message and
before its row is marked (the claim then expires and the message is sent again; an e-mail
carries the same Message-ID). A failure is retried with exponential backoff until the
attempts run out; the delivery then fails (the channel stays active for the next event).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import httpx

from unimeter.db.base import now_ms
from unimeter.db.models import NotificationChannel, NotificationDelivery
from unimeter.kit.crypto import SecretError
from unimeter.kit.netpolicy import URLRefusedError
from unimeter.kit.polling import drain_forever, retry_delay_ms
from unimeter.observability import metrics
from unimeter.runtime import Runtime

from . import mail, render, repository, service, slack
from .errors import SendError

log = logging.getLogger("unimeter.notifications")

CLAIM_BATCH = 20
# A claim outlives the longest attempt, so two dispatchers never send one delivery at once
# unless the first one died.
CLAIM_MARGIN_MS = 30_000
MAX_ERROR_CHARS = 300


class NotificationDispatcher:
    def __init__(
        self,
        runtime: Runtime,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.runtime = runtime
        self._timeout = runtime.settings.notification_timeout_seconds
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"user-agent": "unimeter-notifications"},
        )
        self._tls_context = tls_context
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        await self._http.aclose()

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        poll = self.runtime.settings.webhook_poll_seconds
        await drain_forever(self.dispatch_once, self._wake, poll, log, "notification dispatch")

    async def dispatch_once(self) -> int:
        """Send every delivery that is due now; the number attempted."""
        now = now_ms()
        claim_until = now + int(self._timeout * 1000) + CLAIM_MARGIN_MS
        async with self.runtime.db.session() as session:
            claimed = await repository.claim_due(session, now, claim_until, CLAIM_BATCH)
        await asyncio.gather(*(self._deliver(d, c) for d, c in claimed))
        return len(claimed)

    async def _deliver(self, delivery: NotificationDelivery, channel: NotificationChannel) -> None:
        error = await self._attempt(delivery, channel)
        await self._record(delivery, channel, error)

    async def _attempt(
        self, delivery: NotificationDelivery, channel: NotificationChannel
    ) -> str | None:
        """None when the channel accepted the message, else why not (never a secret)."""
        try:
            msg = render.message(delivery.topic, delivery.payload or {})
            if channel.kind == "slack":
                await self._slack(channel, render.slack(msg))
            else:
                await self._email(delivery, channel, msg)
        except SendError as exc:
            return str(exc)[:MAX_ERROR_CHARS]
        except URLRefusedError as exc:
            return f"refused by the outbound policy: {exc}"[:MAX_ERROR_CHARS]
        except SecretError:
            # A secret that will not decrypt fails the attempt; its text is not shown.
            return "the channel's secret cannot be decrypted with this key"
        except (KeyError, TypeError, ValueError) as exc:  # a payload or settings we cannot use
            return f"cannot build the message: {type(exc).__name__}"
        return None

    async def _slack(self, channel: NotificationChannel, body: dict[str, Any]) -> None:
        url = service.secret_of(self.runtime, channel)
        if url is None:
            raise SendError("the channel has no webhook URL")
        # Checked again at send time: a host name may now resolve somewhere private.
        await asyncio.to_thread(self.runtime.checked_callback_url, url)
        await slack.post(self._http, url, body)

    async def _email(
        self, delivery: NotificationDelivery, channel: NotificationChannel, msg: render.Message
    ) -> None:
        smtp = mail.SmtpSettings.of(channel.settings or {})
        await asyncio.to_thread(service.check_smtp_host, self.runtime, smtp.host, smtp.port)
        email = mail.build(msg, smtp, delivery.id)
        password = service.secret_of(self.runtime, channel)
        await mail.send(smtp, password, email, timeout=self._timeout, tls_context=self._tls_context)

    async def _record(
        self, delivery: NotificationDelivery, channel: NotificationChannel, error: str | None
    ) -> None:
        settings = self.runtime.settings
        now = now_ms()
        attempts = delivery.attempts + 1
        exhausted = error is not None and attempts >= settings.notification_max_attempts
        status = "sent" if error is None else ("failed" if exhausted else "pending")
        async with self.runtime.db.session() as session:
            recorded = await repository.finish_attempt(
                session,
                delivery.id,
                delivery.claimed_until,
                attempts=attempts,
                status=status,
                last_error=error,
                next_attempt_at=now + self._backoff_ms(attempts),
                finished_at=None if status == "pending" else now,
            )
        if not recorded:
            log.info("notification %s changed while it was sent; left as it is", delivery.id)
        elif error is not None:
            log.warning(
                "notification %s to channel %s failed (attempt %d): %s",
                delivery.id, channel.id, attempts, error,
            )  # fmt: skip
        outcome = "succeeded" if error is None else ("exhausted" if exhausted else "retrying")
        metrics.NOTIFICATION_DELIVERIES.labels(kind=channel.kind, outcome=outcome).inc()

    def _backoff_ms(self, attempts: int) -> int:
        settings = self.runtime.settings
        return retry_delay_ms(
            attempts,
            settings.notification_retry_base_seconds,
            settings.notification_retry_max_seconds,
        )
