"""A webhook receiver for tests: a tiny Starlette app on a real port that records every POST.

It is the only fake in the webhook tests, and it sits at the HTTP seam: unimeter's
dispatcher sends real requests to it over loopback. Each path answers with its own status
(204 unless told otherwise), and a path can hold its next request open (never answering)
until the test releases it, to catch a sender mid-request.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.live import serve


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # Wall-clock epoch ms when the request arrived.
    at_ms: int

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def type(self) -> str:
        return str(self.event["type"])

    def verify(self, secret: str) -> dict[str, Any]:
        """The event, once its Standard Webhooks signature checks out (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)  # type: ignore[no-any-return]


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.status: dict[str, int] = {}
        self._hold: set[str] = set()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["POST"])])

    def hold_next(self, path: str) -> None:
        """Keep the next request to ``path`` open, unanswered, until :meth:`release`."""
        with self._lock:
            self._hold.add(path)

    def release(self) -> None:
        self._released.set()

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def types(self, path: str) -> list[str]:
        return sorted(r.type for r in self.received(path))

    async def _endpoint(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        record = Received(path, dict(request.headers), body, int(time.time() * 1000))
        with self._lock:
            self._requests.append(record)
            held = path in self._hold
            self._hold.discard(path)
        if held:
            await anyio.to_thread.run_sync(self._released.wait)
        return Response(status_code=self.status.get(path, 204))


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve(receiver.app) as url:
        receiver.url = url
        try:
            yield receiver
        finally:
            receiver.release()


def epoch_ms(iso: str) -> int:
    """Epoch ms of an ISO-8601 timestamp as the API renders them."""
    return round(dt.datetime.fromisoformat(iso).timestamp() * 1000)
