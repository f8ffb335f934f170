"""``unimeter serve --workers N``: N server processes, each with its own listening socket.

uvicorn's own ``--workers`` shares one socket between its processes, and whichever wakes
first accepts every pending connection: 32 keep-alive connections opened at once (a load
test, or a proxy's upstream pool) could all land on one process while the other idles.
Here each process binds the port itself with ``SO_REUSEPORT``, and the kernel spreads new
connections across them by a hash of the client's address.

The parent only supervises: it starts the processes, starts another when one dies, and
stops them all on SIGINT or SIGTERM. The processes elect which of them runs the scheduler
and the senders (``unimeter.app.serve_app``).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from multiprocessing.process import BaseProcess
from typing import Any

from unimeter.kit.sockets import tcp_socket

log = logging.getLogger("unimeter")

# uvicorn's exit code for a server that could not start (bad app, port taken): restarting
# it would fail the same way.
STARTUP_FAILURE = 3
BACKLOG = 2048


def _serve_one(host: str, port: int, options: dict[str, Any]) -> None:
    """One server process (the target of a spawned process)."""
    import uvicorn

    from unimeter.observability import logging as logs

    logs.configure()
    try:
        sock = tcp_socket(host, port, reuse_port=True)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        raise SystemExit(STARTUP_FAILURE) from exc
    sock.listen(BACKLOG)
    config = uvicorn.Config("unimeter.app:serve_app", factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(count: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Run ``count`` server processes until SIGINT or SIGTERM; the exit code."""
    # The port is checked here first: one line now, rather than N processes failing. The
    # check binds without SO_REUSEPORT: a server already listening there (another
    # ``serve --workers`` included, whose sockets allow sharing) refuses it, where the
    # processes' own sockets would have joined that server's and split its connections.
    tcp_socket(host, port).close()
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    failed = False

    def start() -> BaseProcess:
        process = context.Process(target=_serve_one, args=(host, port, options))
        process.start()
        return process

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    processes = [start() for _ in range(count)]
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
            processes[index] = start()
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(60)
    return 1 if failed else 0
