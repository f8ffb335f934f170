"""Calls to Cursor's Enterprise-gated families, with their errors in the engine's words.

Cursor gates a whole family by plan: on a team plan every Analytics, AI Code Tracking (and,
in the simulator, Cloud Agents) endpoint answers 403 "Enterprise access required". The
engine then records the stream unavailable and asks again once a day, so a gated stream
costs one request a day. Streams of one family run concurrently, so :class:`FamilyGates`
also lets the first request of a family go alone: the others wait for its verdict and a
403 costs one request per family and run, not one per stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from unimeter.connectors.errors import (
    SourceAuthError,
    SourceUnavailableError,
    StreamUnavailableError,
)

from .errors import (
    CursorAuthError,
    CursorBadRequestError,
    CursorError,
    CursorForbiddenError,
    CursorNotFoundError,
)

T = TypeVar("T")

AI_CODE = "ai_code"
ANALYTICS = "analytics"
CLOUD_AGENTS = "cloud_agents"


class FamilyGates:
    """What this source learned about each family: open (an answer came), or gated (a 403,
    with Cursor's message). One per source: a run's streams share it."""

    def __init__(self) -> None:
        self._open: set[str] = set()
        self._gated: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def call(
        self,
        family: str,
        make: Callable[[], Awaitable[T]],
        *,
        disabled_on_401: str | None = None,
    ) -> T:
        """``make()``'s answer, or the neutral error. ``disabled_on_401`` names a feature an
        admin can switch off (conversation insights answer 401 then): its stream becomes
        unavailable instead of the whole account needing new credentials."""
        if family in self._open:
            return await self._call(family, make, disabled_on_401)
        lock = self._locks.setdefault(family, asyncio.Lock())
        async with lock:
            return await self._call(family, make, disabled_on_401)

    async def _call(
        self, family: str, make: Callable[[], Awaitable[T]], disabled_on_401: str | None
    ) -> T:
        gated = self._gated.get(family)
        if gated is not None:
            raise StreamUnavailableError(gated)
        try:
            answer = await make()
        except CursorForbiddenError as exc:
            self._gated[family] = str(exc)
            raise StreamUnavailableError(str(exc)) from exc
        except CursorAuthError as exc:
            if disabled_on_401 is not None and not exc.missing_scope:
                raise StreamUnavailableError(f"{disabled_on_401} is disabled: {exc}") from exc
            raise SourceAuthError(f"Cursor rejected the API key: {exc}") from exc
        except CursorNotFoundError as exc:
            raise StreamUnavailableError(str(exc)) from exc
        except CursorBadRequestError as exc:
            raise SourceUnavailableError(f"Cursor refused a request: {exc}") from exc
        except CursorError as exc:
            raise SourceUnavailableError(f"Cursor is unavailable: {exc}") from exc
        self._open.add(family)
        return answer
