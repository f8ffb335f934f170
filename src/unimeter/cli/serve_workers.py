"""``unimeter serve --workers N``: N server processes, and a parent that deals them the
connections in turn.

A process's requests queue behind one another, so a process holding more connections than
another answers each of them later. uvicorn's own ``--workers`` shares one socket, and
whichever process wakes first accepts every pending connection: 32 keep-alive connections
opened at once (a load test, a proxy's upstream pool) could all land on one process. Sockets
of their own with ``SO_REUSEPORT`` spread connections by a hash of the client's address:
a pool of 32 split 13 and 19, and a third of the requests waited 1.4 times as long as the
rest. Here the parent alone listens, and hands each connection it accepts to the next
process in turn over a Unix socket (``SCM_RIGHTS``): N processes hold within one
connection of each other.

The parent otherwise supervises: it starts the processes, starts another when one dies,
and stops them all on SIGINT or SIGTERM. The processes elect which of them runs the
scheduler and the senders (``unimeter.app.serve_app``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from unimeter.kit.sockets import tcp_socket

log = logging.getLogger("unimeter")

# uvicorn's exit code for a server that could not start (bad app, port taken): restarting
# it would fail the same way.
STARTUP_FAILURE = 3
BACKLOG = 2048
# Connections handed over but not yet taken, per process, before the next process gets one.
_HANDOFF_BUFFER = 1024 * 1024


def _server_class() -> type[Any]:
    import uvicorn

    class HandedServer(uvicorn.Server):
        """A uvicorn server without a listening socket: it serves the connections its
        parent hands it over ``channel``."""

        def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
            super().__init__(config)
            self.channel = channel
            self.taking: set[asyncio.Task[Any]] = set()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=[])  # the lifespan; no listener of its own
            config = self.config
            # As uvicorn's own startup builds it for its listeners.
            protocol_class: Any = config.http_protocol_class
            protocol = functools.partial(
                protocol_class, config=config, server_state=self.server_state,
                app_state=self.lifespan.state,
            )  # fmt: skip
            self.channel.setblocking(False)
            loop = asyncio.get_running_loop()
            loop.add_reader(self.channel.fileno(), self._take, loop, protocol)

        def _take(self, loop: asyncio.AbstractEventLoop, protocol: Any) -> None:
            while True:
                try:
                    data, fds, _, _ = socket.recv_fds(self.channel, 64, 64)
                except BlockingIOError:
                    return
                except OSError:
                    data, fds = b"", []
                if not data and not fds:  # the parent is gone: so are new connections
                    loop.remove_reader(self.channel.fileno())
                    self.should_exit = True
                    return
                for fd in fds:
                    connection = socket.socket(fileno=fd)
                    connection.setblocking(False)
                    task = loop.create_task(loop.connect_accepted_socket(protocol, connection))
                    self.taking.add(task)
                    task.add_done_callback(self._taken)

        def _taken(self, task: asyncio.Task[Any]) -> None:
            self.taking.discard(task)
            if not task.cancelled() and task.exception() is not None:
                # A client gone before its connection was set up: nothing to answer.
                log.debug("a handed connection failed: %s", task.exception())

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.channel.fileno())
            self.channel.close()
            await super().shutdown(sockets)

    return HandedServer


def _serve_one(channel: socket.socket, options: dict[str, Any]) -> None:
    """One server process (the target of a spawned process)."""
    import uvicorn

    from unimeter.observability import logging as logs

    logs.configure()
    config = uvicorn.Config("unimeter.app:serve_app", factory=True, **options)
    _server_class()(config, channel).run()


class _Dealer:
    """Accepts connections on the parent's socket and hands each to the next process."""

    def __init__(self, listener: socket.socket, count: int) -> None:
        self.listener = listener
        self.channels: list[socket.socket | None] = [None] * count
        self.turn = 0
        self.stopping = threading.Event()

    def channel_for(self, index: int) -> socket.socket:
        """A new channel to process ``index``; the other end, for the process to take."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _HANDOFF_BUFFER)
        ours.setblocking(False)
        old, self.channels[index] = self.channels[index], ours
        if old is not None:
            old.close()
        return theirs

    def run(self) -> None:
        self.listener.settimeout(0.5)  # to notice stopping
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self.stopping.is_set():
                    return
                log.warning("accepting a connection failed: %s", exc)
                continue
            with connection:
                self._hand(connection)

    def _hand(self, connection: socket.socket) -> None:
        count = len(self.channels)
        for _ in range(count):
            channel = self.channels[self.turn % count]
            self.turn += 1
            if channel is None:
                continue
            try:
                socket.send_fds(channel, [b"c"], [connection.fileno()])
                return
            except OSError:
                continue  # that process is gone or not taking any: the next one
        log.warning("no server process took a connection; it was closed")


def run_workers(count: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Run ``count`` server processes until SIGINT or SIGTERM; the exit code."""
    # Bound without SO_REUSEPORT: a server already listening there refuses it (one line
    # from the caller) rather than sharing its port.
    listener = tcp_socket(host, port)
    listener.listen(BACKLOG)
    dealer = _Dealer(listener, count)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    failed = False

    def start(index: int) -> BaseProcess:
        theirs = dealer.channel_for(index)
        process = context.Process(target=_serve_one, args=(theirs, options))
        process.start()
        theirs.close()  # the process has its own copy
        return process

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    processes = [start(index) for index in range(count)]
    dealing = threading.Thread(target=dealer.run, name="unimeter-dealer", daemon=True)
    dealing.start()
    while not stop.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            if process.exitcode == STARTUP_FAILURE:
                failed = True
                stop.set()
                break
            log.warning("server process %s exited (%s); starting another", process.pid,
                        process.exitcode)  # fmt: skip
            processes[index] = start(index)
    dealer.stopping.set()
    dealing.join(5)
    listener.close()
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(60)
    return 1 if failed else 0
