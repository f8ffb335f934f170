"""``unimeter demo``: a simulated workspace, linked, backfilled and served, in one process.

One event loop runs the simulator (its own port), the backfill, then the API with the
scheduler and the webhook sender. Ctrl-C (or SIGTERM) cancels the loop's main task, which
stops both servers and closes the store on its way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator, Generator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from unimeter import demo
from unimeter.accounts.service import LinkRequest, link_account
from unimeter.analytics import anomalies
from unimeter.app import Background, create_app, open_runtime
from unimeter.auth.service import create_token
from unimeter.connect.service import LinkTokenRequest, create_link_token
from unimeter.connectors.contract import Connector, DemoWorld
from unimeter.connectors.registration import default_registry
from unimeter.runtime import Runtime, StartupError
from unimeter.sync.engine.report import SyncOptions

from .sync import summary_table, sync_with_progress

# Long lines (URLs, tokens, curl commands) are never wrapped, so they copy and paste whole;
# off a terminal (a log, a test) Rich would otherwise wrap and truncate at 80 columns.
console = Console(highlight=False, soft_wrap=True)
START_TIMEOUT_SECONDS = 30.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: two servers share one loop, and the demo
    stops both on one Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(frozen=True, slots=True)
class Access:
    """What the output hands the newcomer."""

    account_id: str
    token: str
    connect_url: str


@dataclass(slots=True)
class Demo:
    connector: Connector  # the vendor whose simulator runs
    world: DemoWorld
    sim_sock: socket.socket
    api_sock: socket.socket

    @property
    def sim_url(self) -> str:
        return f"http://{demo.HOST}:{self.sim_sock.getsockname()[1]}"

    @property
    def api_url(self) -> str:
        return f"http://{demo.HOST}:{self.api_sock.getsockname()[1]}"


def demo_command() -> None:
    """Run the product on embedded defaults against a simulated vendor (see README)."""
    code = asyncio.run(_main())  # failures become one line in the CLI's entry point
    raise typer.Exit(code)


async def _main() -> int:
    task = asyncio.current_task()
    assert task is not None
    _stop_on_signals(task)
    ready = asyncio.Event()
    try:
        await _run(ready)
    except asyncio.CancelledError:
        if not ready.is_set():
            console.print("interrupted before the demo was ready")
            return 130
    console.print("stopped")
    return 0


def _stop_on_signals(task: asyncio.Task[Any]) -> None:
    loop = asyncio.get_running_loop()

    def stop() -> None:
        # Once: a second Ctrl-C must not cut the shutdown of the servers short.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
            loop.add_signal_handler(sig, lambda: None)
        task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)


async def _run(ready: asyncio.Event) -> None:
    ports = (
        demo.port_from_env("UNIMETER_SIMULATOR_PORT", 8787),
        demo.port_from_env("UNIMETER_DEMO_PORT", 8000),
    )
    path = demo.data_dir()
    reset = demo.prepare_data_dir(path)
    what = "reset: every run starts a fresh team" if reset else "new"
    console.print(f"[bold]unimeter demo[/bold] · data in {escape(str(path))} ({what})")
    d = _setup(*ports)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(_serving(d.world.asgi_app(), d.sim_sock))
        minute = f"{demo.MINUTE_SECONDS:g} s"
        vendor = d.connector.display_name
        console.print(
            f"▸ simulated {vendor} API on {d.sim_url} ({vendor}'s rate limits, {minute} minutes)"
        )
        runtime = await _open(path, d.world)
        stack.push_async_callback(runtime.close)
        access = await _link_and_backfill(runtime, d)
        app = create_app(runtime, background=Background(scheduler=True))
        await stack.enter_async_context(_serving(app, d.api_sock))
        _announce(d, access)
        ready.set()
        await asyncio.Event().wait()  # until Ctrl-C cancels this task


def _setup(sim_port: int, api_port: int) -> Demo:
    connector, world = demo.world()
    return Demo(connector, world, sim_sock=demo.bind(sim_port), api_sock=demo.bind(api_port))


async def _open(path: Path, world: DemoWorld) -> Runtime:
    registry = default_registry(world.connector())
    try:
        return await open_runtime(demo.settings(path), registry=registry)
    except StartupError as exc:
        raise demo.DemoError(str(exc)) from exc


async def _link_and_backfill(runtime: Runtime, d: Demo) -> Access:
    """Link the first workspace and backfill it (anomaly detection runs after the sync);
    then make the API token and the second workspace's Connect link that the output shows."""
    for planted in d.world.plant_anomalies():
        day = demo.day_of(planted.day_ms)
        console.print(f"▸ planted an anomaly: {planted.what} for {planted.email} on {day}")
    first, second = d.world.workspaces[:2]
    slug, term = d.connector.slug, d.connector.workspace_term
    request = LinkRequest(
        integration=slug,
        credentials=first.credentials,
        base_url=d.sim_url,
        tenant_id=demo.TENANT,
        name=first.name,
    )
    account = await link_account(runtime, request)
    console.print(f"▸ linked {term} {first.name!r} ({first.members} members) as {account.id}")
    await _backfill(runtime, d.connector, account.id)
    token, plaintext = await create_token(runtime, name="demo")
    # The link token carries the simulator's base URL: the page links whatever is pasted
    # against it, not against the vendor's real API.
    request2 = LinkTokenRequest(
        tenant_id=demo.SECOND_TENANT, integration=slug, name=second.name, base_url=d.sim_url
    )
    link = await create_link_token(runtime, token.environment_id, request2)
    return Access(account.id, plaintext, f"{d.api_url}/connect/{link.plaintext}")


async def _backfill(runtime: Runtime, connector: Connector, account_id: str) -> None:
    streams = ", ".join(s.name.replace("_", " ") for s in connector.streams)
    console.print(f"▸ backfilling {demo.DAYS} days: {streams}…")
    report = await sync_with_progress(runtime, account_id, SyncOptions())
    console.print(summary_table(report), width=max(console.width, 100))
    if report.status != "succeeded":
        raise demo.DemoError(f"the backfill {report.status}: {report.error or 'see the log'}")
    found = await anomalies.page(
        runtime, (account_id,), status=None, kind=None, position=None, limit=100
    )
    kinds = sorted({f"{a.kind} ({a.user_email})" for a in found.items})
    console.print(f"▸ anomaly detection found {len(found.items)}: {', '.join(kinds)}")


def _announce(d: Demo, access: Access) -> None:
    base = d.api_url
    console.print()
    console.print(
        f"[bold green]unimeter is running[/bold green] at {base} "
        "(scheduler on; Ctrl-C stops everything)"
    )
    console.print(f"Dashboard: {base}/app  (sign in with the API token)")
    console.print(f"API token: {access.token}")
    console.print(f"Account:   {access.account_id}")
    console.print("Try:")
    for what, command in demo.curl_examples(base, access.token, access.account_id):
        console.print(f"  # {what}", markup=False)
        console.print(f"  {command}", markup=False)
    second = d.world.workspaces[1]
    note = f", {second.note}," if second.note else ""
    console.print()
    console.print(
        f"A second simulated {d.connector.workspace_term}, {second.name!r}{note} "
        "is waiting to be linked:"
    )
    console.print(f"  open {access.connect_url}", markup=False)
    values = list(second.credentials.values())
    if len(values) == 1:
        console.print(f"  and paste its key (a simulator key, made to be pasted): {values[0]}")
    else:
        pairs = " ".join(f"{name}={value}" for name, value in second.credentials.items())
        console.print(f"  and paste its credentials (made to be pasted): {pairs}")
    sys.stdout.flush()


@asynccontextmanager
async def _serving(app: Any, sock: socket.socket) -> AsyncIterator[None]:
    config = uvicorn.Config(app, log_level=None, log_config=None, access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await _until_started(server, task)
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await task
        sock.close()


async def _until_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_SECONDS
    while not server.started:
        if task.done() or asyncio.get_running_loop().time() > deadline:
            raise demo.DemoError("a server of the demo did not start; see the log above")
        await asyncio.sleep(0.02)
