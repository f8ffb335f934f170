"""Shared CLI plumbing: one asyncio entry per command, and one-line errors."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from unimeter.kit.collector import settle_after_start
from unimeter.kit.redact import redact_text
from unimeter.runtime import Runtime
from unimeter.wiring import open_runtime

T = TypeVar("T")
err_console = Console(stderr=True, highlight=False, emoji=False)


def print_error(message: str) -> None:
    """``error: …`` on stderr, redacted, never wrapped (one line whatever the width)."""
    err_console.print(f"error: {redact_text(message)}", markup=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def run(main: Callable[[Runtime], Awaitable[T]]) -> T:
    """Open the runtime, run ``main`` in one event loop, and close.

    Errors propagate, so a command may handle those it expects; whatever is left becomes
    one line at the entry point (:func:`unimeter.cli.main.main`)."""

    async def wrapper() -> T:
        runtime = await open_runtime()
        settle_after_start()
        try:
            return await main(runtime)
        finally:
            await runtime.close()

    return asyncio.run(wrapper())


def parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date formatted YYYY-MM-DD, not {value!r}", 2)


def iso_or_never(ms: int | None) -> str:
    if ms is None:
        return "never"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day_start_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
