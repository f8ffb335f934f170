"""``unimeter demo``: a simulated workspace, linked, backfilled and served, in one process.

One event loop runs the simulator (its own port), the backfill, then the API with the
scheduler and the webhook sender. Ctrl-C (or SIGTERM) cancels the loop's main task, which
stops both servers and closes the store on its way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
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
from unimeter.connectors.contract import Connector
from unimeter.connectors.registration import default_registry
from unimeter.connectors.simulators import DemoWorld
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
    """What the output hands the newcomer for one vendor."""

    account_id: str
    connect_token: str  # the second workspace's Connect link token


@dataclass(slots=True)
class Vendor:
    connector: Connector  # the vendor whose simulator runs
    world: DemoWorld
    sim_sock: socket.socket

    @property
    def sim_url(self) -> str:
        return f"http://{demo.HOST}:{self.sim_sock.getsockname()[1]}"


@dataclass(slots=True)
class Demo:
    vendors: list[Vendor]
    api_sock: socket.socket

    @property
    def api_url(self) -> str:
        return f"http://{demo.HOST}:{self.api_sock.getsockname()[1]}"


def run_demo() -> None:
    """``unimeter demo`` (cli/demo.py)."""
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
    sim_port = demo.port_from_env("UNIMETER_SIMULATOR_PORT", 8787)
    api_port = demo.port_from_env("UNIMETER_DEMO_PORT", 8000)
    path = demo.data_dir()
    reset = demo.prepare_data_dir(path)
    what = "reset: every run starts a fresh company" if reset else "new"
    console.print(f"[bold]unimeter demo[/bold] · data in {escape(str(path))} ({what})")
    d = _setup(sim_port, api_port)
    async with AsyncExitStack() as stack:
        minute = f"{demo.MINUTE_SECONDS:g} s"
        for v in d.vendors:
            await stack.enter_async_context(_serving(v.world.asgi_app(), v.sim_sock))
            name = v.connector.display_name
            console.print(
                f"▸ simulated {name} API on {v.sim_url} ({name}'s rate limits, {minute} minutes)"
            )
        runtime = await _open(path, [v.world for v in d.vendors])
        stack.push_async_callback(runtime.close)
        token, plaintext = await create_token(runtime, name="demo")
        accesses = [await _link_and_backfill(runtime, v, token.environment_id) for v in d.vendors]
        app = create_app(runtime, background=Background(scheduler=True))
        await stack.enter_async_context(_serving(app, d.api_sock))
        _announce(d, plaintext, accesses, path)
        ready.set()
        await asyncio.Event().wait()  # until Ctrl-C cancels this task


def _setup(sim_port: int, api_port: int) -> Demo:
    # The first simulator listens on the configured port, the next ones on the ports after
    # it (or any free one when taken).
    vendors = [
        Vendor(connector, world, demo.bind(sim_port + n if sim_port else 0))
        for n, (connector, world) in enumerate(demo.worlds())
    ]
    return Demo(vendors, api_sock=demo.bind(api_port))


async def _open(path: Path, worlds: list[DemoWorld]) -> Runtime:
    registry = default_registry(*(world.connector() for world in worlds))
    try:
        return await open_runtime(demo.settings(path), registry=registry)
    except StartupError as exc:
        raise demo.DemoError(str(exc)) from exc


async def _link_and_backfill(runtime: Runtime, v: Vendor, environment_id: str) -> Access:
    """Link the vendor's first workspace into the demo's tenant and backfill it (anomaly
    detection runs after the sync); then make its second workspace's Connect link."""
    for planted in v.world.plant_anomalies():
        day = demo.day_of(planted.day_ms)
        console.print(f"▸ planted an anomaly: {planted.what} for {planted.email} on {day}")
    first, second = v.world.workspaces[:2]
    slug, term = v.connector.slug, v.connector.workspace_term
    request = LinkRequest(
        integration=slug,
        credentials=first.credentials,
        base_url=v.sim_url,
        tenant_id=demo.TENANT,
        name=first.name,
    )
    account = await link_account(runtime, request)
    name = v.connector.display_name
    console.print(
        f"▸ linked {name} {term} {first.name!r} ({first.members} members) as {account.id}"
    )
    await _backfill(runtime, v.connector, account.id)
    # The link token carries the simulator's base URL: the page links whatever is pasted
    # against it, not against the vendor's real API.
    request2 = LinkTokenRequest(
        tenant_id=demo.SECOND_TENANT, integration=slug, name=second.name, base_url=v.sim_url
    )
    link = await create_link_token(runtime, environment_id, request2)
    return Access(account.id, link.plaintext)


async def _backfill(runtime: Runtime, connector: Connector, account_id: str) -> None:
    streams = ", ".join(s.name.replace("_", " ") for s in connector.streams)
    console.print(f"▸ backfilling {demo.DAYS} days of {connector.display_name}: {streams}…")
    report = await sync_with_progress(runtime, account_id, SyncOptions())
    console.print(summary_table(report), width=max(console.width, 100))
    if report.status != "succeeded":
        raise demo.DemoError(f"the backfill {report.status}: {report.error or 'see the log'}")
    found = await anomalies.page(
        runtime, (account_id,), status=None, kind=None, position=None, limit=100
    )
    kinds = sorted({f"{a.kind} ({a.user_email})" for a in found.items})
    console.print(f"▸ anomaly detection found {len(found.items)}: {', '.join(kinds)}")


def _announce(d: Demo, token: str, accesses: list[Access], path: Path) -> None:
    base = d.api_url
    console.print()
    console.print(
        f"[bold green]unimeter is running[/bold green] at {base} "
        "(scheduler on; Ctrl-C stops everything)"
    )
    console.print(f"Dashboard: {base}/app  (sign in with the API token)")
    console.print(f"API token: {token}")
    # An MCP client runs the stdio command itself; the data directory points it at this store.
    data_dir = shlex.quote(str(path.expanduser().resolve()))
    console.print(f"MCP:       UNIMETER_DATA_DIR={data_dir} unimeter mcp --token {token}")
    console.print(f"MCP HTTP:  {base}/mcp  (Authorization: Bearer <the API token>)")
    for v, access in zip(d.vendors, accesses, strict=True):
        console.print(f"Account:   {access.account_id} ({v.connector.display_name})")
    console.print("Try:")
    first = accesses[0].account_id
    for what, command in demo.curl_examples(base, token, first, demo.TENANT):
        console.print(f"  # {what}", markup=False)
        console.print(f"  {command}", markup=False)
    for v, access in zip(d.vendors, accesses, strict=True):
        _announce_second(v, f"{base}/connect/{access.connect_token}")
    sys.stdout.flush()


def _announce_second(v: Vendor, connect_url: str) -> None:
    second = v.world.workspaces[1]
    note = f", {second.note}," if second.note else ""
    console.print()
    console.print(
        f"A second simulated {v.connector.display_name} {v.connector.workspace_term}, "
        f"{second.name!r}{note} is waiting to be linked:"
    )
    console.print(f"  open {connect_url}", markup=False)
    values = list(second.credentials.values())
    if len(values) == 1:
        console.print(f"  and paste its key (a simulator key, made to be pasted): {values[0]}")
    else:
        pairs = " ".join(f"{name}={value}" for name, value in second.credentials.items())
        console.print(f"  and paste its credentials (made to be pasted): {pairs}")


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
