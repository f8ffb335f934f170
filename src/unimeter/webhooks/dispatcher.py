"""Sending the outbox: claim due deliveries, POST them signed, record every attempt.

Delivery is at least once: a dispatcher that dies after sending but before recording the
attempt leaves its claim to expire, and another dispatcher sends again with the same
``webhook-id``, which receivers use to drop duplicates. A delivery that keeps failing is
retried with exponential backoff; when its attempts run out it fails, its webhook is
disabled, and the environment's other webhooks hear about it (``webhook:disabled``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from unimeter.db.base import now_ms
from unimeter.db.models import Webhook, WebhookAttempt, WebhookDelivery
from unimeter.kit.crypto import SecretError
from unimeter.kit.netpolicy import URLRefusedError
from unimeter.kit.polling import drain_forever, retry_delay_ms
from unimeter.observability import metrics
from unimeter.runtime import Runtime

from . import repository, service, signing
from .schemas import WebhookOut

log = logging.getLogger("unimeter.webhooks")

CLAIM_BATCH = 20
# A claim outlives the longest attempt, so two dispatchers never send one delivery at once
# unless the first one died.
CLAIM_MARGIN_MS = 30_000
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, slots=True)
class AttemptResult:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None


class WebhookDispatcher:
    def __init__(
        self, runtime: Runtime, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self._timeout = settings.webhook_timeout_seconds
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=self._timeout,
            follow_redirects=False,
            headers={"user-agent": "unimeter-webhooks"},
        )
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        await self._http.aclose()

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run_forever(self) -> None:
        poll = self.runtime.settings.webhook_poll_seconds
        await drain_forever(self.dispatch_once, self._wake, poll, log, "webhook dispatch")

    async def dispatch_once(self) -> int:
        """Send every delivery that is due now; the number attempted."""
        now = now_ms()
        claim_until = now + int(self._timeout * 1000) + CLAIM_MARGIN_MS
        async with self.runtime.db.session() as session:
            claimed = await repository.claim_due(session, now, claim_until, CLAIM_BATCH)
        await asyncio.gather(*(self._deliver(d, w) for d, w in claimed))
        return len(claimed)

    async def _deliver(self, delivery: WebhookDelivery, webhook: Webhook) -> None:
        result = await self._attempt(delivery, webhook)
        await self._record(delivery, webhook, result)

    async def _attempt(self, delivery: WebhookDelivery, webhook: Webhook) -> AttemptResult:
        started = time.perf_counter()
        try:
            # Checked again at send time: a host name may now resolve somewhere private.
            url = await asyncio.to_thread(self.runtime.checked_callback_url, webhook.url)
            secret = service.secret_of(self.runtime, webhook)
            timestamp = int(time.time())
            headers = signing.headers(secret, delivery.id, timestamp, delivery.body)
            response = await self._http.post(url, content=delivery.body, headers=headers)
        except (httpx.HTTPError, URLRefusedError, SecretError) as exc:
            # A secret that will not decrypt fails the attempt: nothing goes out unsigned.
            failure = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            return AttemptResult(False, None, _elapsed_ms(started), failure)
        ok = 200 <= response.status_code < 300
        error = None if ok else f"HTTP {response.status_code}"
        return AttemptResult(ok, response.status_code, _elapsed_ms(started), error)

    async def _record(
        self, delivery: WebhookDelivery, webhook: Webhook, result: AttemptResult
    ) -> None:
        settings = self.runtime.settings
        now = now_ms()
        attempts = delivery.attempts + 1
        exhausted = not result.ok and attempts >= settings.webhook_max_attempts
        status = "succeeded" if result.ok else ("failed" if exhausted else "pending")
        async with self.runtime.db.session() as session:
            await repository.add_attempt(
                session,
                WebhookAttempt(
                    delivery_id=delivery.id,
                    attempted_at=now,
                    outcome="succeeded" if result.ok else "failed",
                    status_code=result.status_code,
                    latency_ms=result.latency_ms,
                    error=result.error,
                ),
            )
            await repository.update_delivery(
                session,
                delivery.id,
                attempts=attempts,
                status=status,
                claimed_until=None,
                last_status_code=result.status_code,
                last_error=result.error,
                next_attempt_at=now + self._backoff_ms(attempts),
                finished_at=None if status == "pending" else now,
            )
            if exhausted:
                await self._disable(session, webhook, result)
        metrics.WEBHOOK_DELIVERIES.labels(
            outcome="succeeded" if result.ok else ("exhausted" if exhausted else "retrying")
        ).inc()

    def _backoff_ms(self, attempts: int) -> int:
        settings = self.runtime.settings
        return retry_delay_ms(
            attempts, settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
        )

    async def _disable(
        self, session: AsyncSession, webhook: Webhook, result: AttemptResult
    ) -> None:
        stored = await repository.get_webhook(session, webhook.id)
        if stored is None or not stored.is_active:
            return
        stored.is_active = False
        stored.disabled_reason = (
            f"disabled after {self.runtime.settings.webhook_max_attempts} failed attempts "
            f"(last: {result.error})"
        )
        stored.updated_at = now_ms()
        await session.flush()
        log.warning("webhook %s disabled: %s", stored.id, stored.disabled_reason)
        data = WebhookOut.of(stored).model_dump(mode="json")
        await service.publish(session, stored.environment_id, "webhook:disabled", data)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
