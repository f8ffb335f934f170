"""The attempt loop every vendor's client shares, with a client that records what the loop
tells it and a transport that answers from a script: what is retried and what is not, the
waits asked for, the counters, the secret scrubbed from a transport error."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from unimeter.connectors.attempts import Outcome, RetryingClient
from unimeter.kit.retry import RetryPolicy

SECRET = "s3cret-key"


@dataclass(frozen=True, slots=True)
class _Request:
    method: str = "GET"
    path: str = "/things"
    endpoint: str = "/things"
    params: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


class _Client(RetryingClient[_Request]):
    vendor = "toy"
    log = logging.getLogger("tests.attempts")

    def __init__(self, script: list[httpx.Response | Exception], attempts: int = 4) -> None:
        self._retry = RetryPolicy(max_attempts=attempts, jitter=False, base_delay=0.25)
        self._key_id = "key-hash"
        self.heard: list[tuple[int | None, float]] = []
        self.held: list[float] = []

        def answer(request: httpx.Request) -> httpx.Response:
            step = script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step

        self._open_pool(None, base_url="http://toy", transport=httpx.MockTransport(answer))

    async def _draw(self, request: _Request) -> float:
        return 0.0

    def _heard(self, request: _Request, outcome: Outcome) -> None:
        status = outcome.response.status_code if outcome.response is not None else None
        self.heard.append((status, outcome.delay))

    async def _hold(self, seconds: float) -> None:
        self.held.append(seconds)  # no real wait: the test reads what was asked

    def _retried(self, status: int) -> bool:
        return status in (429, 503)

    def _asked_wait(self, headers: httpx.Headers) -> float | None:
        value = headers.get("retry-after")
        return float(value) if value is not None else None

    def _scrub(self, text: str) -> str:
        return text.replace(SECRET, "…")


async def test_retried_answers_are_tried_again_with_the_wait_the_server_asks() -> None:
    script: list[httpx.Response | Exception] = [
        httpx.Response(429, headers={"retry-after": "3"}),
        httpx.Response(503),
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json={"ok": True}),
    ]
    async with _Client(script) as client:
        outcome = await client._call(_Request(), decode=True)
    assert outcome.decoded and outcome.payload == {"ok": True} and outcome.attempts == 4
    # 3 s asked by the 429; then the backoff of attempts 2 and 3 (0.25 * 2 ** (n - 1)).
    assert client.held == [3.0, 0.5, 1.0]
    assert client.heard == [(429, 3.0), (503, 0.5), (200, 1.0), (200, 0.0)]
    stats = client.stats
    assert (stats.requests, stats.retries, stats.rate_limited, stats.errors) == (4, 3, 1, 2)
    assert stats.backoff_seconds == pytest.approx(4.5)


async def test_a_refusal_is_final_and_the_last_attempt_is_returned() -> None:
    async with _Client([httpx.Response(401, json={"error": "no"})]) as client:
        refused = await client._call(_Request(), decode=True)
    assert (refused.attempts, refused.failure, refused.decoded) == (1, None, False)
    assert refused.response is not None and refused.response.status_code == 401

    async with _Client([httpx.Response(503), httpx.Response(503)], attempts=2) as client:
        exhausted = await client._call(_Request(), decode=True)
    assert (exhausted.attempts, exhausted.failure) == (2, "HTTP 503")
    assert client.held == [0.25]  # no wait after the last attempt


async def test_a_transport_error_is_retried_and_described_without_the_secret() -> None:
    dropped = httpx.ConnectError(f"refused for {SECRET}")
    async with _Client([dropped, dropped], attempts=2) as client:
        outcome = await client._call(_Request(), decode=False)
    assert outcome.response is None and outcome.attempts == 2
    assert outcome.failure == "ConnectError: refused for …"
    assert client.heard == [(None, 0.25), (None, 0.5)]
