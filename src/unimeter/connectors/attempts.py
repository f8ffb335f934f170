"""What every vendor's client does around one request: draw from the rate budget, send,
judge the answer, wait and try again while another attempt may do better, and log and
count each attempt.

A vendor's client (:class:`RetryingClient`) says only what differs: how it draws from its
budget and what a 429 or a success tells it, which statuses are worth another attempt,
how long the server asks it to wait, how its secrets are scrubbed from messages, and how
the final failure becomes one of its errors.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import httpx
import orjson

from unimeter.kit.retry import RetryPolicy
from unimeter.observability import metrics

from .pooled import PooledClient


class SentRequest(Protocol):
    """What the engine reads of a vendor's request."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...  # as sent (a raw request may carry a query string)
    @property
    def endpoint(self) -> str: ...  # the path alone: safe to log and to put in errors
    @property
    def params(self) -> Any: ...
    @property
    def content(self) -> bytes | None: ...
    @property
    def headers(self) -> Mapping[str, str] | None: ...


R = TypeVar("R", bound=SentRequest)


@dataclass(slots=True)
class Outcome:
    """What one attempt produced; ``failure`` is set when another attempt may do better."""

    attempts: int
    response: httpx.Response | None = None
    payload: object = None
    decoded: bool = False
    failure: str | None = None
    retry_after: float | None = None
    delay: float = 0.0  # before the next attempt


class RetryingClient(PooledClient, Generic[R]):
    """Base of a vendor's client: the attempt loop. Its ``__init__`` sets ``_retry`` and
    ``_key_id`` and opens the pool (:meth:`PooledClient._open_pool`)."""

    vendor: ClassVar[str]  # in logs and metric labels
    log: ClassVar[logging.Logger]
    _retry: RetryPolicy
    _key_id: str

    # --- what a vendor says ----------------------------------------------------------------

    async def _draw(self, request: R) -> float:
        """Wait for the budget to allow an attempt; the seconds waited."""
        raise NotImplementedError

    def _heard(self, request: R, outcome: Outcome) -> None:
        """Tell the budget what an attempt's answer says about the pace (a 429 or not)."""

    async def _hold(self, seconds: float) -> None:
        """Wait before another attempt, as the budget wants waits done."""
        raise NotImplementedError

    def _retried(self, status: int) -> bool:
        raise NotImplementedError

    def _asked_wait(self, headers: httpx.Headers) -> float | None:
        """The seconds a retried response asks us to wait, if it says."""
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        """``text`` without any form of the secret in it."""
        raise NotImplementedError

    def _trace(self, response: httpx.Response | None) -> str:
        """What else the debug line of an attempt shows (a vendor's request id, say)."""
        return ""

    # --- the loop -----------------------------------------------------------------------

    async def _call(self, request: R, *, decode: bool) -> Outcome:
        attempt = 1
        while True:
            outcome = await self._attempt(request, attempt, decode=decode)
            if outcome.failure is None or attempt >= self._retry.max_attempts:
                return outcome
            await self._pause(request, outcome)
            attempt += 1

    async def _attempt(self, request: R, attempt: int, *, decode: bool) -> Outcome:
        waited = await self._draw(request)
        metrics.observe_wait(self.vendor, request.endpoint, waited)
        self._stats.waited_seconds += waited
        self._stats.requests += 1
        if attempt > 1:
            self._stats.retries += 1
        started = time.perf_counter()
        try:
            response = await self._http.request(
                request.method,
                request.path,
                params=request.params,
                content=request.content,
                headers=request.headers,
            )
        except httpx.TransportError as exc:
            self._stats.errors += 1
            outcome = Outcome(attempt, failure=self._scrub(_describe(exc)))
        else:
            outcome = self._judge(response, attempt, decode=decode)
        self._log_attempt(request, outcome, time.perf_counter() - started)
        if outcome.failure is not None:
            outcome.delay = self._retry.delay_for(attempt, outcome.retry_after)
        self._heard(request, outcome)
        return outcome

    def _judge(self, response: httpx.Response, attempt: int, *, decode: bool) -> Outcome:
        status = response.status_code
        if self._retried(status):
            # A 429 is the server pacing us, not a failure of the service: counted apart.
            if status == 429:
                self._stats.rate_limited += 1
            else:
                self._stats.errors += 1
            wait = self._asked_wait(response.headers)
            return Outcome(attempt, response, failure=f"HTTP {status}", retry_after=wait)
        if not (decode and response.is_success):
            return Outcome(attempt, response)
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            # Seen when a connection drops mid-body behind a proxy: transient, like a reset.
            self._stats.errors += 1
            return Outcome(attempt, response, failure="invalid JSON body")
        return Outcome(attempt, response, payload=payload, decoded=True)

    async def _pause(self, request: R, outcome: Outcome) -> None:
        self.log.info(
            "%s %s %s retry in %.2fs after attempt %d (%s)",
            self.vendor,
            request.method,
            request.endpoint,
            outcome.delay,
            outcome.attempts,
            outcome.failure,
        )
        metrics.observe_wait(self.vendor, request.endpoint, outcome.delay)
        self._stats.waited_seconds += outcome.delay
        self._stats.backoff_seconds += outcome.delay
        await self._hold(outcome.delay)

    def _log_attempt(self, request: R, outcome: Outcome, elapsed: float) -> None:
        status = outcome.response.status_code if outcome.response is not None else None
        endpoint = metrics.endpoint_label(request.endpoint)
        metrics.VENDOR_REQUESTS.labels(
            vendor=self.vendor, endpoint=endpoint, status=str(status) if status else "error"
        ).inc()
        if status == 429:
            metrics.VENDOR_RATE_LIMITED.labels(vendor=self.vendor, endpoint=endpoint).inc()
        if outcome.attempts > 1:
            metrics.VENDOR_RETRIES.labels(vendor=self.vendor, endpoint=endpoint).inc()
        self.log.debug(
            "%s %s %s -> %s attempt=%d elapsed=%.3fs key=%s%s",
            self.vendor,
            request.method,
            request.endpoint,
            outcome.failure or status,
            outcome.attempts,
            elapsed,
            self._key_id[:12],  # the hash's prefix tells accounts apart in logs
            self._trace(outcome.response),
        )


def _describe(exc: httpx.TransportError) -> str:
    detail = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
